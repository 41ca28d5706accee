#!/usr/bin/env bash
# Smoke test of the built .deb without installing it: unpack it into a temporary root (dpkg-deb -x),
# run the frozen app's --self-test (GUI offscreen, sample -> tflite-int8 + openvino-fp16 in the worker,
# verify, 100 CPU inferences, report), then the frozen CLI's inspect, convert and bench on the sample.
# Runs in an empty environment (no venv, a temporary HOME) from a temporary folder, so nothing outside
# the package can help it. Usage: packaging/smoke.sh [PATH.deb]   (default: the newest in build/package)
# Exit 0 when everything passed; otherwise 1 with the reason.
set -uo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DEB="${1:-$(ls -t "$ROOT"/build/package/edgewizard_*.deb 2>/dev/null | head -1)}"

fail() { echo "smoke: FAILED: $*" >&2; exit 1; }
say() { echo "smoke: $*" >&2; }
[ -n "$DEB" ] && [ -f "$DEB" ] || fail "no .deb given and none in build/package/: run make package first."

TMP="$(mktemp -d "${TMPDIR:-/tmp}/edgewizard-smoke.XXXXXX")"
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/home" "$TMP/work"
say "unpacking $(basename "$DEB") into $TMP/root"
dpkg-deb -x "$DEB" "$TMP/root" || fail "dpkg-deb -x could not unpack $DEB."
APP="$TMP/root/opt/edgewizard/edgewizard"
[ -x "$APP" ] || fail "$DEB has no executable opt/edgewizard/edgewizard."
for f in usr/bin/edgewizard usr/share/applications/edgewizard.desktop usr/share/mime/packages/edgewizard.xml \
         usr/share/icons/hicolor/scalable/apps/edgewizard.svg usr/share/icons/hicolor/256x256/apps/edgewizard.png; do
    [ -e "$TMP/root/$f" ] || fail "$DEB lacks /$f."
done
grep -q '^exec /opt/edgewizard/edgewizard "\$@"' "$TMP/root/usr/bin/edgewizard" || fail "/usr/bin/edgewizard does not start /opt/edgewizard/edgewizard."

# The frozen app alone: no PYTHONPATH, no venv on PATH, settings in a throw-away HOME.
run() {
    (cd "$TMP/work" && env -i HOME="$TMP/home" PATH=/usr/local/bin:/usr/bin:/bin LANG=C.UTF-8 TMPDIR="$TMP" \
        ${QTWEBENGINE_CHROMIUM_FLAGS:+QTWEBENGINE_CHROMIUM_FLAGS="$QTWEBENGINE_CHROMIUM_FLAGS"} "$APP" "$@")
}

version="$(run --version 2>&1)" || fail "edgewizard --version: $version"
say "$version"

say "self-test (GUI offscreen; the first start of TensorFlow in a fresh folder is slow)"
t0=$(date +%s)
run --self-test --out "$TMP/selftest" 2>&1 | tee "$TMP/selftest.log" | grep '^self-test:' >&2
code=${PIPESTATUS[0]}
t1=$(date +%s)
[ "$code" -eq 0 ] || { tail -40 "$TMP/selftest.log" >&2; fail "the self-test exited $code (its last lines are above)."; }
say "self-test passed in $((t1 - t0)) s"

say "CLI: inspect"
run inspect --json > "$TMP/inspect.json" 2> "$TMP/inspect.err" || { cat "$TMP/inspect.err" >&2; fail "edgewizard inspect exited $?."; }
grep -q '"format": "keras"' "$TMP/inspect.json" || fail "edgewizard inspect --json did not describe the Keras sample: $(head -c 300 "$TMP/inspect.json")"

say "CLI: convert"
run convert --target tflite-int8 --target openvino-fp16 -o "$TMP/out" > "$TMP/convert.log" 2>&1 \
    || { tail -20 "$TMP/convert.log" >&2; fail "edgewizard convert exited non-zero."; }
for f in digits_cnn_int8.tflite digits_cnn_fp16.xml digits_cnn_fp16.bin manifest.json; do
    [ -s "$TMP/out/$f" ] || fail "edgewizard convert did not write $f."
done

for model in digits_cnn_int8.tflite digits_cnn_fp16.xml; do
    say "CLI: bench $model"
    run bench "$TMP/out/$model" -n 100 --json > "$TMP/bench.json" 2> "$TMP/bench.err" \
        || { cat "$TMP/bench.err" >&2; fail "edgewizard bench $model exited non-zero."; }
    grep -q '"count": 100,' "$TMP/bench.json" || fail "edgewizard bench $model did not measure 100 inferences: $(head -c 400 "$TMP/bench.json")"
    grep -q '"status": "finished"' "$TMP/bench.json" || fail "edgewizard bench $model did not finish: $(head -c 400 "$TMP/bench.json")"
done

say "passed ($(basename "$DEB"); self-test $((t1 - t0)) s, all $(( $(date +%s) - t0 )) s)"
