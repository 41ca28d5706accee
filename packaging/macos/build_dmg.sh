#!/usr/bin/env bash
# macOS: EdgeWizard.app (the spec's BUNDLE) in a compressed .dmg with a link to /Applications.
# UNTESTED: written and reviewed on Linux, never run on a Mac. See packaging/README.md.
# Needs: macOS 12+, Python 3.11 (python.org or Homebrew), Xcode command line tools (codesign, hdiutil).
#   python3.11 -m venv .venv && .venv/bin/pip install -e ".[package]"
#   packaging/macos/build_dmg.sh          # CODESIGN_IDENTITY="Developer ID Application: ..." to sign
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
PY="${PY:-$ROOT/.venv/bin/python}"
OUT="${OUT:-$ROOT/build/package}"
[ "$(uname -s)" = Darwin ] || { echo "build_dmg: this builds the macOS app; run it on a Mac." >&2; exit 1; }
VERSION="$("$PY" -c 'from importlib.metadata import version; print(version("edgewizard"))')"
APP="$OUT/dist/EdgeWizard.app"
DMG="$OUT/EdgeWizard-$VERSION-macos-$(uname -m).dmg"

(cd "$ROOT" && "$PY" -m PyInstaller --noconfirm --log-level WARN --distpath "$OUT/dist" --workpath "$OUT/work" packaging/edgewizard.spec)
[ -d "$APP" ] || { echo "build_dmg: PyInstaller did not make $APP." >&2; exit 1; }

if [ -n "${CODESIGN_IDENTITY:-}" ]; then
    # PyInstaller signs every binary ad hoc; a Developer ID signature with the hardened runtime is
    # what Gatekeeper accepts (then notarize: xcrun notarytool submit "$DMG" --wait, xcrun stapler staple).
    codesign --deep --force --timestamp --options runtime --entitlements "$ROOT/packaging/macos/entitlements.plist" \
        --sign "$CODESIGN_IDENTITY" "$APP"
fi

# The same end-to-end check as on Linux, on the app as built (offscreen; needs no display).
"$APP/Contents/MacOS/edgewizard" --self-test

STAGING="$(mktemp -d)"
trap 'rm -rf "$STAGING"' EXIT
cp -R "$APP" "$STAGING/"
ln -s /Applications "$STAGING/Applications"
rm -f "$DMG"
hdiutil create -volname "EdgeWizard $VERSION" -srcfolder "$STAGING" -fs HFS+ -format UDZO -imagekey zlib-level=9 -ov "$DMG"
echo "build_dmg: $DMG ($(du -h "$DMG" | cut -f1))"
