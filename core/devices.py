"""The device catalogue: one entry per device EdgeWizard knows, the only place its title, the targets
it runs, its validator, its bench runtime, the model files it loads, its install hint and its USB ids
are written. Validate, convert, bench, the CLI's choices, the GUI and the bench agent's table read it.

Adding a device is one entry here plus its backends (a validator module, a target, the agent's runner).
Plain Python only: the GUI process imports this and must stay light."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from .errors import UserError


@dataclass(frozen=True)
class Device:
    id: str  # "edgetpu", "myriad", "openvino:CPU": what --device takes
    title: str  # plain words: "Coral Edge TPU"
    short: str  # in a sentence: "3 of 5 ops on the {short}"
    targets: tuple[str, ...]  # conversion targets it runs, the one to convert to first ("edgetpu")
    validator: str  # the validate registry's name, "" when it cannot be checked
    bench: str  # the bench --device kind ("tflite:CPU", "edgetpu", "openvino:CPU", "myriad"), "" when it cannot be benchmarked
    file_kinds: tuple[str, ...]  # the model files its runtime loads: ".tflite", ".xml", ".onnx"
    install_hint: str  # what to install for it, words that follow "install": "OpenVINO (pip install openvino)"
    usb_ids: tuple[tuple[str, str], ...] = ()  # (vendor:product, name) as the USB bus shows the device
    usb_kind: str = ""  # what the bench probe calls it when it shows on USB: "coral", "ncs2", "ncs"
    aliases: tuple[str, ...] = ()  # other names a person writes for it ("coral")
    description: str = ""  # what the hardware is, one sentence
    notes: tuple[str, ...] = ()  # what a person should know before choosing it
    family: str = ""  # devices one runtime serves, chosen together in the wizard ("openvino"); "" = its own id

    @property
    def default_target(self) -> Optional[str]:
        """The target to convert to for this device when the person names none."""
        return self.targets[0] if self.targets else None

    @property
    def group(self) -> str:
        return self.family or self.id

    def loads(self, filename: str) -> bool:
        """Whether this device's runtime loads a model file of this name."""
        return filename.lower().endswith(self.file_kinds)


_TFLITE = ("tflite-float", "tflite-fp16", "tflite-dynamic", "tflite-int8")
_OPENVINO = ("openvino-fp32", "openvino-fp16", "openvino-int8")
_OPENVINO_FILES = (".xml", ".onnx", ".tflite")
# Words that follow "install" (the bench agent also writes "so use ..."): no command-line option here, as the
# wizard shows it too; the bench command adds the option that chooses that Python. The package index's
# openvino 2022.3 wheels have no MYRIAD plugin (openvinotoolkit/openvino issues 13968, 20660): only Intel's
# own download does (core/bench/runtime_archive.py makes the environment from it).
_MYRIAD_PYTHON = ("Intel's own OpenVINO 2022.3 download (the package index's openvino 2022.3 has no plugin for the "
                  "stick) with a Python 3.8–3.10; in the wizard, Benchmark › Set up the NCS2 runtime… makes the "
                  "environment")

CATALOGUE: tuple[Device, ...] = (
    Device("edgetpu", "Coral Edge TPU", "Edge TPU", ("edgetpu",), "edgetpu", "edgetpu", (".tflite",),
           "the Edge TPU runtime (libedgetpu1-std from Google's Coral apt repository, or "
           "edgetpu.dll/libedgetpu.1.dylib from coral.ai)",
           usb_ids=(("1a6e:089a", "Coral USB Accelerator (waiting for its firmware, normal before first use)"),
                    ("18d1:9302", "Coral USB Accelerator")), usb_kind="coral",
           aliases=("coral",),
           description="USB Accelerator, M.2/PCIe card or Dev Board. Needs a full-integer (int8) model.",
           notes=("Runs the part of the model edgetpu_compiler maps, in order; what follows the first op it "
                  "cannot map runs on the CPU.",)),
    Device("myriad", "Intel Neural Compute Stick 2 (NCS2)", "NCS2", ("openvino-fp16",), "myriad", "myriad",
           (".xml", ".onnx"), _MYRIAD_PYTHON,
           usb_ids=(("03e7:2485", "Intel Neural Compute Stick 2"),
                    ("03e7:f63b", "Intel Neural Compute Stick 2 (booted)")), usb_kind="ncs2",
           aliases=("ncs2", "openvino:MYRIAD"),
           description="MYRIAD VPU. Runs FP16 OpenVINO models with fixed input shapes.",
           notes=("Needs Intel's own OpenVINO 2022.3 download, the last release with the stick's plugin, and a "
                  "Python 3.8–3.10 of its own; the package index's openvino 2022.3 lacks that plugin.",)),
    Device("ncs", "Intel Movidius Neural Compute Stick (first generation)", "NCS", (), "", "", (), "",
           usb_ids=(("03e7:2150", "Intel Movidius Neural Compute Stick (first generation)"),), usb_kind="ncs",
           description="The first Movidius USB stick.",
           notes=("End of life: only Intel's NCSDK ran it, and EdgeWizard cannot validate, convert for or "
                  "benchmark it.",)),
    Device("openvino:CPU", "OpenVINO on the CPU", "OpenVINO CPU", _OPENVINO, "openvino:CPU", "openvino:CPU",
           _OPENVINO_FILES, "OpenVINO (pip install openvino)",
           description="A PC or laptop with an Intel (or other x86 or ARM) processor.", family="openvino"),
    Device("openvino:GPU", "OpenVINO on an Intel GPU", "OpenVINO GPU", _OPENVINO, "openvino:GPU", "openvino:GPU",
           _OPENVINO_FILES, "OpenVINO and Intel's GPU compute runtime (intel-opencl-icd on Linux)",
           description="An Intel integrated or Arc graphics processor.", family="openvino"),
    Device("openvino:NPU", "OpenVINO on an Intel NPU", "OpenVINO NPU", _OPENVINO, "openvino:NPU", "openvino:NPU",
           _OPENVINO_FILES, "OpenVINO and Intel's NPU driver (an Intel NPU is part of a Core Ultra processor)",
           description="The neural processing unit of an Intel Core Ultra processor.",
           notes=("The NPU needs fixed input shapes.",), family="openvino"),
    Device("tflite:CPU", "TensorFlow Lite (LiteRT) on the CPU", "TFLite CPU runtime", _TFLITE, "tflite:CPU",
           "tflite:CPU", (".tflite",), "LiteRT (pip install ai-edge-litert, or tflite-runtime on older systems)",
           aliases=("tflite", "litert", "litert:CPU"),
           description="A PC, a phone or a Raspberry Pi without an accelerator.", family="tflite"),
)
# Families of several devices, in the words the wizard shows for the family: (title, description).
_FAMILIES = {"openvino": ("Intel CPU, GPU or NPU with OpenVINO", "A PC or laptop with an Intel processor, its GPU or its NPU.")}
_BY_KEY = {k.lower(): d for d in CATALOGUE for k in (d.id, *d.aliases)}


def devices() -> tuple[Device, ...]:
    return CATALOGUE


def find(name: str) -> Optional[Device]:
    """The device with this id or alias (any case), else None."""
    return _BY_KEY.get((name or "").strip().lower())


def device(name: str) -> Device:
    """The device with this id or alias (any case); a UserError naming the choices otherwise."""
    found = find(name)
    if found is None:
        raise UserError(f"Unknown device {name!r}; choose from {', '.join(d.id for d in CATALOGUE)}.")
    return found


@dataclass(frozen=True)
class Family:
    """Devices chosen together in the wizard (OpenVINO's CPU, GPU and NPU), or one device alone."""

    id: str
    title: str
    description: str
    devices: tuple[Device, ...]

    @property
    def targets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t for d in self.devices for t in d.targets))

    @property
    def validators(self) -> tuple[str, ...]:
        return tuple(d.validator for d in self.devices if d.validator)


def families() -> tuple[Family, ...]:
    """The catalogue's devices grouped by family, in catalogue order."""
    groups: dict[str, list[Device]] = {}
    for d in CATALOGUE:
        groups.setdefault(d.group, []).append(d)
    out = []
    for key, members in groups.items():
        title, description = _FAMILIES.get(key, (members[0].title, members[0].description))
        out.append(Family(key, title, description, tuple(members)))
    return tuple(out)


def for_target(target: str) -> tuple[Device, ...]:
    """The devices that run a conversion target's output."""
    return tuple(d for d in CATALOGUE if target in d.targets)


def by_bench(kind: str) -> Optional[Device]:
    """The device of a canonical bench --device string ("edgetpu:usb:0" is the Edge TPU), else None
    (OpenVINO devices outside the catalogue, such as openvino:HDDL)."""
    for d in CATALOGUE:
        if d.bench and (kind == d.bench or kind.startswith(d.bench + ":")):
            return d
    return None


def by_validator(name: str) -> Optional[Device]:
    """The device a validate registry name judges, else None."""
    return next((d for d in CATALOGUE if d.validator and d.validator == name), None)


def validator_ids() -> tuple[str, ...]:
    return tuple(d.validator for d in CATALOGUE if d.validator)


def bench_kinds() -> tuple[str, ...]:
    return tuple(d.bench for d in CATALOGUE if d.bench)


def agent_table() -> list[dict]:
    """What the bench agent needs to know of each device, as JSON-able dicts: "device" (its --device
    kind, or the id of one it cannot benchmark), "title", "install" (words that follow "install"),
    "usb" ([{"id", "kind", "name"}]) and "notes"."""
    return [{"device": d.bench or d.id, "title": d.title, "install": d.install_hint,
             "usb": [{"id": usb, "kind": d.usb_kind, "name": name} for usb, name in d.usb_ids],
             "notes": list(d.notes)} for d in CATALOGUE]
