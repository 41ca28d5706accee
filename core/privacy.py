"""Nothing phones home (DESIGN.md): keep the usage telemetry of OpenVINO's converter and NNCF from
running. Called once at the start of every worker process, before anything imports OpenVINO."""
from __future__ import annotations

import os
import sys


def block_vendor_telemetry() -> None:
    """Make the openvino_telemetry package look absent (OpenVINO and NNCF then skip telemetry; its
    sender even forks a process that can hang when the network is closed). If it was imported
    already, replace its sender with one that sends nothing. NNCF also honours NNCF_CI."""
    os.environ.setdefault("NNCF_CI", "1")
    if "openvino_telemetry" not in sys.modules:
        sys.modules["openvino_telemetry"] = None  # type: ignore[assignment]  # import now raises ImportError
        return
    try:
        from openvino_telemetry.utils.sender import TelemetrySender
    except ImportError:  # already made absent
        return
    TelemetrySender.send = _send_nothing


def _send_nothing(self, backend, message) -> None:
    return None
