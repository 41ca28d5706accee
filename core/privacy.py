"""Nothing phones home (DESIGN.md): silence the usage telemetry that OpenVINO's converter and NNCF
send to an analytics service by default. Called once at the start of every worker process."""
from __future__ import annotations

import os


def block_vendor_telemetry() -> None:
    """NNCF honours NNCF_CI when it is set before its import; the shared sender of the
    openvino_telemetry package (used by convert_model and NNCF) is replaced by one that sends nothing."""
    os.environ.setdefault("NNCF_CI", "1")
    try:
        from openvino_telemetry.utils.sender import TelemetrySender
    except ImportError:  # no telemetry package: nothing to send with
        return
    TelemetrySender.send = _send_nothing


def _send_nothing(self, backend, message) -> None:
    return None
