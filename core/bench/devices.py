"""Which runtimes and accelerators a machine offers, and for each bench device whether it is ready
or, in plain words, what to plug in or install.

The bench agent does the looking (so the answer is the same for this computer, another interpreter
or a Raspberry Pi over ssh); a quick USB-only look needs no agent, for a status bar."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..devices import by_bench
from .agent import usb_devices
from .launch import Where
from .runner import canonical_device, probe


@dataclass(frozen=True)
class DeviceStatus:
    device: str  # what --device takes: "tflite:CPU", "edgetpu", "openvino:NPU", "myriad"
    title: str  # plain words: "Coral Edge TPU"
    ready: bool
    reason: str  # when not ready: one sentence on what to plug in or install
    default_precision: Optional[str] = None  # OpenVINO devices: the precision it computes in unless told ("bf16")


@dataclass(frozen=True)
class Runtime:
    name: str  # "ai_edge_litert", "tflite_runtime", "pycoral" (Google's), "openvino", "numpy"
    version: Optional[str]  # None when it is missing
    error: str = ""


@dataclass(frozen=True)
class Accelerator:
    usb_id: str  # "18d1:9302"
    kind: str  # "coral", "ncs2", "ncs"
    name: str


@dataclass(frozen=True)
class Discovery:
    where: str
    python: str
    platform: str
    runtimes: tuple[Runtime, ...]
    openvino_devices: tuple[str, ...]
    accelerators: Optional[tuple[Accelerator, ...]]  # None: this system cannot list USB devices
    edgetpu_library: str  # "libedgetpu.so.1"
    edgetpu_library_loads: bool
    edgetpu_library_error: str
    devices: tuple[DeviceStatus, ...]

    @property
    def ready(self) -> tuple[str, ...]:
        return tuple(d.device for d in self.devices if d.ready)

    @property
    def missing(self) -> tuple[str, ...]:
        """What to plug in or install, one sentence each, for the devices that are not ready."""
        return tuple(dict.fromkeys(d.reason for d in self.devices if not d.ready and d.reason))

    def status(self, device: str) -> DeviceStatus:
        """The status of a --device string (edgetpu:usb:0 answers as edgetpu)."""
        name = canonical_device(device)
        entry = by_bench(name)
        base = entry.bench if entry else name
        for d in self.devices:
            if d.device == base:
                return d
        return DeviceStatus(name, entry.title if entry else name, False, f"{self.where} has no {name}.")

    def summary(self) -> str:
        lines = [f"{self.where}: Python {self.python} on {self.platform}"]
        for r in self.runtimes:
            lines.append(f"  {r.name:<15} {r.version if r.version is not None else 'missing'}")
        if self.accelerators is None:
            lines.append("  USB accelerators: cannot list USB devices here (install pyusb to see them)")
        else:
            found = ", ".join(f"{a.name} ({a.usb_id})" for a in self.accelerators) or "none"
            lines.append(f"  USB accelerators: {found}")
        lines.append(f"  Edge TPU library {self.edgetpu_library}: {'loads' if self.edgetpu_library_loads else 'not installed'}")
        for d in self.devices:
            lines.append(f"  {'ready  ' if d.ready else 'missing'}  {d.device:<13} {d.title}")
            if not d.ready:
                lines.append(f"           {d.reason}")
        return "\n".join(lines)


def from_report(report: dict, where: str) -> Discovery:
    runtimes = tuple(Runtime(name, info.get("version"), info.get("error", "")) for name, info in report["runtimes"].items())
    usb = report.get("usb")
    lib = report.get("edgetpu_library") or {}
    return Discovery(
        where=where,
        python=str(report.get("python", "")),
        platform=str(report.get("platform", "")),
        runtimes=runtimes,
        openvino_devices=tuple((report["runtimes"].get("openvino") or {}).get("devices") or ()),
        accelerators=None if usb is None else tuple(Accelerator(u["id"], u["kind"], u["name"]) for u in usb),
        edgetpu_library=str(lib.get("name", "")),
        edgetpu_library_loads=bool(lib.get("loads")),
        edgetpu_library_error=str(lib.get("error", "")),
        devices=tuple(DeviceStatus(d["device"], d["title"], bool(d["ready"]), d.get("reason", ""),
                                   d.get("default_precision")) for d in report["devices"]),
    )


def discover(where: Where = Where(), timeout_s: float = 60.0) -> Discovery:
    """Runs the agent's probe where the benchmark would run (takes about a second: it imports the runtimes)."""
    return from_report(probe(where, timeout_s), where.label)


def usb_accelerators() -> Optional[tuple[Accelerator, ...]]:
    """Accelerators on this computer's USB, read from /sys (or pyusb) without starting anything."""
    found = usb_devices()
    return None if found is None else tuple(Accelerator(u["id"], u["kind"], u["name"]) for u in found)

