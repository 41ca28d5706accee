#!/usr/bin/env bash
# Make sure the Debian packages EdgeWizard's window and tests need are present (Qt's xcb libraries,
# Xvfb; OpenSSH for the remote-benchmark tests; Chromium to render the HTML report in tests; strace,
# iproute2 and util-linux for the network-isolation test of tests/hardening/; binutils to strip the
# frozen app's libraries in packaging/build.sh).
# As root, installs what is missing with apt-get; otherwise names them in one sentence and fails.
set -euo pipefail
pkgs=(libxcb-cursor0 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0 libxcb-render-util0
      libxcb-shape0 libxcb-xinerama0 libxcb-xkb1 libxkbcommon-x11-0 libnss3 libxcomposite1 libxdamage1
      libxrandr2 libxtst6 libegl1 libgl1 libasound2 libfontconfig1 libdbus-1-3 xvfb xauth
      openssh-server openssh-client chromium strace iproute2 util-linux binutils)
command -v dpkg-query >/dev/null 2>&1 || { echo "system-deps: not a Debian-family system; install Qt 6's xcb libraries and Xvfb yourself." >&2; exit 0; }
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "EdgeWizard needs these Debian packages; install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "system-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
