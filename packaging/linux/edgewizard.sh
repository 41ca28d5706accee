#!/bin/sh
# /usr/bin/edgewizard: starts EdgeWizard, installed in /opt/edgewizard (the window, or a subcommand).
if [ "$(id -u)" = 0 ] && [ -z "${QTWEBENGINE_DISABLE_SANDBOX:-}" ]; then
    # Chromium inside Qt WebEngine aborts the whole app when run as root with its sandbox on.
    export QTWEBENGINE_DISABLE_SANDBOX=1
fi
exec /opt/edgewizard/edgewizard "$@"
