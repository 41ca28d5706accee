#!/usr/bin/env bash
# `make package`: freeze EdgeWizard with PyInstaller (one folder), then build the Debian package
# (installs under /opt/edgewizard) and a .tar.gz of the same folder, into build/package/.
# Needs the venv with the `package` extra (PyInstaller), dpkg-deb and binutils (strip, objdump).
# SKIP_FREEZE=1 reuses the last frozen folder (to rebuild only the .deb and .tar.gz);
# DEB_COMPRESSION=xz|zstd|gzip (default xz) and DEB_LEVEL (default: 6 for xz, 9 for zstd and gzip).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
OUT="${OUT:-$ROOT/build/package}"
MAINTAINER="${MAINTAINER:-EdgeWizard maintainers <maintainers@edgewizard.invalid>}"
LINUX="$ROOT/packaging/linux"
ICONS="$ROOT/packaging/icons"

say() { echo "package: $*" >&2; }
die() { echo "package: $*" >&2; exit 1; }

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing: the .deb is built on a Debian-family system."
command -v strip >/dev/null || die "strip is missing: install binutils (packaging/system-deps.sh does)."
"$PY" -c "import PyInstaller" 2>/dev/null || die "PyInstaller is not installed in $PY's environment: run .venv/bin/pip install -e '.[package]'."
VERSION="$("$PY" -c 'from importlib.metadata import version; print(version("edgewizard"))')"
ARCH="$(dpkg --print-architecture)"
NAME="edgewizard_${VERSION}_${ARCH}"
APPDIR="$OUT/dist/edgewizard"
started=$(date +%s)

# ---------------------------------------------------------------- 1. the frozen folder
if [ "${SKIP_FREEZE:-0}" != 1 ] || [ ! -x "$APPDIR/edgewizard" ]; then
    say "freezing with PyInstaller (a TensorFlow app: this takes a while)"
    rm -rf "$APPDIR"
    (cd "$ROOT" && "$PY" -m PyInstaller --noconfirm --log-level WARN \
        --distpath "$OUT/dist" --workpath "$OUT/work" packaging/edgewizard.spec)
fi
[ -x "$APPDIR/edgewizard" ] || die "PyInstaller did not produce $APPDIR/edgewizard."
frozen=$(date +%s)
# TensorFlow's, LiteRT's and Python's shared libraries ship with their symbol tables (300 MB of the
# 1.6 GB of libraries that have them) and TensorFlow's with CUDA kernels the app cannot run (323 MB):
# strip the symbols and empty the kernels, never touching an executable (see slim_libraries.py).
# A folder that is already slimmed is left as it is, so SKIP_FREEZE=1 can run this again.
"$PY" "$ROOT/packaging/slim_libraries.py" "$APPDIR" || die "slimming the shared libraries failed."
stripped=$(date +%s)
# The frozen CLI must at least start without a display and without any Python around it.
env -i HOME="$OUT" PATH=/usr/bin:/bin "$APPDIR/edgewizard" --version >/dev/null \
    || die "the frozen app does not start: $APPDIR/edgewizard --version failed."

# ---------------------------------------------------------------- 2. the .deb
STAGE="$OUT/deb/$NAME"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN" "$STAGE/opt" "$STAGE/usr/bin" "$STAGE/usr/share/applications" \
    "$STAGE/usr/share/mime/packages" "$STAGE/usr/share/doc/edgewizard" \
    "$STAGE/usr/share/icons/hicolor/scalable/apps" "$STAGE/usr/share/icons/hicolor/256x256/apps" \
    "$STAGE/usr/share/icons/hicolor/48x48/apps"
cp -al "$APPDIR" "$STAGE/opt/edgewizard" 2>/dev/null || cp -a "$APPDIR" "$STAGE/opt/edgewizard"
install -m 0755 "$LINUX/edgewizard.sh" "$STAGE/usr/bin/edgewizard"
install -m 0644 "$LINUX/edgewizard.desktop" "$STAGE/usr/share/applications/edgewizard.desktop"
install -m 0644 "$LINUX/edgewizard-mime.xml" "$STAGE/usr/share/mime/packages/edgewizard.xml"
install -m 0644 "$ICONS/edgewizard.svg" "$STAGE/usr/share/icons/hicolor/scalable/apps/edgewizard.svg"
install -m 0644 "$ICONS/edgewizard.png" "$STAGE/usr/share/icons/hicolor/256x256/apps/edgewizard.png"
install -m 0644 "$ICONS/edgewizard-48.png" "$STAGE/usr/share/icons/hicolor/48x48/apps/edgewizard.png"
install -m 0644 "$LINUX/copyright" "$STAGE/usr/share/doc/edgewizard/copyright"
for script in postinst prerm postrm; do install -m 0755 "$LINUX/$script" "$STAGE/DEBIAN/$script"; done

# The oldest glibc the frozen binaries accept: the newest GLIBC_x.y symbol version any of them needs
# (objdump, from binutils); without objdump, this system's glibc, which is never too old.
glibc=""
if command -v objdump >/dev/null; then
    glibc="$(find "$STAGE/opt/edgewizard" -type f \( -name '*.so*' -o -name edgewizard -o -name QtWebEngineProcess \) -print0 \
        | xargs -0 -n 200 objdump -T 2>/dev/null | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -1)"
fi
[ -n "$glibc" ] || glibc="$(getconf GNU_LIBC_VERSION | awk '{print $2}')"
# What Qt's xcb platform plugin and Qt WebEngine load from the system (the libraries PyInstaller does
# not bundle, or that must match the system's graphics stack). Ubuntu 24.04 renamed some (t64).
DEPENDS="libc6 (>= $glibc), libstdc++6, libgcc-s1, zlib1g, libxcb1, libx11-6, libx11-xcb1, libxcb-cursor0, libxcb-icccm4,
 libxcb-image0, libxcb-keysyms1, libxcb-randr0, libxcb-render-util0, libxcb-shape0, libxcb-xinerama0, libxcb-xkb1,
 libxkbcommon0, libxkbcommon-x11-0, libegl1, libgl1, libopengl0, libdrm2, libgbm1, libfontconfig1, libfreetype6,
 libdbus-1-3, libglib2.0-0 | libglib2.0-0t64, libnss3, libnspr4, libxcomposite1, libxdamage1, libxrandr2,
 libxtst6, libxkbfile1, libxshmfence1, libasound2 | libasound2t64"
DEPENDS="$(echo $DEPENDS)"  # one line, single spaces
installed_kib="$(du -sk --apparent-size "$STAGE" --exclude=DEBIAN | cut -f1)"
sed -e "s|@VERSION@|$VERSION|" -e "s|@ARCH@|$ARCH|" -e "s|@MAINTAINER@|$MAINTAINER|" \
    -e "s|@INSTALLED_SIZE@|$installed_kib|" -e "s/@DEPENDS@/$DEPENDS/" "$LINUX/control.in" > "$STAGE/DEBIAN/control"
# Every file belongs to root; nothing is writable by others (the hard links share the build's modes).
chmod -R u+rwX,go+rX,go-w "$STAGE"
# xz -6 (dpkg-deb compresses with every core): see packaging/README.md for the sizes and times of
# the levels measured here. Every dpkg reads xz; zstd is faster and larger (a quick local .deb).
COMPRESSION="${DEB_COMPRESSION:-xz}"
case "$COMPRESSION" in zstd) level=9 ;; xz) level=6 ;; gzip) level=9 ;; *) die "DEB_COMPRESSION must be zstd, xz or gzip." ;; esac
level="${DEB_LEVEL:-$level}"
say "building $NAME.deb ($COMPRESSION -$level)"
rm -f "$OUT/$NAME.deb"
dpkg-deb --root-owner-group "-Z$COMPRESSION" "-z$level" --build "$STAGE" "$OUT/$NAME.deb" >/dev/null
debbed=$(date +%s)

# ---------------------------------------------------------------- 3. the .tar.gz
TARBALL="$OUT/edgewizard-$VERSION-linux-$ARCH.tar.gz"
say "building $(basename "$TARBALL")"
tar -C "$OUT/dist" --owner=0 --group=0 -cf - edgewizard | gzip -6 > "$TARBALL.part"
mv "$TARBALL.part" "$TARBALL"
done_at=$(date +%s)
rm -rf "$STAGE"  # hard links into dist/: nothing is lost, the folder is only for dpkg-deb

mb() { echo "$(( ($(stat -c %s "$1") + 524288) / 1048576 )) MB"; }
say "done in $((done_at - started)) s (freeze $((frozen - started)) s, slim $((stripped - frozen)) s, .deb $((debbed - stripped)) s, .tar.gz $((done_at - debbed)) s)"
say "frozen folder $(du -sh "$APPDIR" | cut -f1) (installed size $((installed_kib / 1024)) MB)"
say "$OUT/$NAME.deb: $(mb "$OUT/$NAME.deb")"
say "$TARBALL: $(mb "$TARBALL")"
