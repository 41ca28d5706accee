"""`edgewizard --self-test`: checks an installed (frozen) EdgeWizard end to end and exits 0, or non-zero
naming the step that failed and why. The window starts offscreen and loads the sample through its own
worker; the sample is converted to tflite-int8 and openvino-fp16, verified, benchmarked (100
inferences on the CPU with each runtime, through the bench agent) and reported.

Top-level imports stay Qt- and TensorFlow-free: the worker imports this module for `runtime_check`."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable, Optional

TARGETS = ("tflite-int8", "openvino-fp16")
BENCH_COUNT = 100
# The model formats EdgeWizard hands to OpenVINO, by frontend name; all must load in the frozen app.
FRONTENDS = ("tf", "tflite", "onnx", "ir")


class StepFailed(Exception):
    pass


# --------------------------------------------------------------------------- runs in the worker


def runtime_check(tflite_path: str) -> dict:
    """OpenVINO's CPU plugin and the frontends load (their libraries are found by path at run time,
    so a missing one shows only here); a tiny ONNX model and the converted .tflite compile on the CPU."""
    import numpy as np
    import onnx
    import openvino as ov
    from onnx import TensorProto, helper

    core = ov.Core()
    devices = list(core.available_devices)
    frontends = sorted(ov.frontend.FrontEndManager().get_available_front_ends())
    missing = [f for f in FRONTENDS if f not in frontends]
    if "CPU" not in devices or missing:
        raise RuntimeError(f"OpenVINO devices {devices}, frontends {frontends}: missing "
                           f"{', '.join((['CPU plugin'] if 'CPU' not in devices else []) + missing)}.")
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "selftest",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    from edgewizard.core import tempdirs

    folder = tempdirs.mkdtemp("selftest-")
    try:
        onnx_path = folder / "relu.onnx"
        onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]), str(onnx_path))
        relu = core.compile_model(core.read_model(str(onnx_path)), "CPU")
        out = relu(np.array([[-1.0, 2.0, -3.0, 4.0]], np.float32))[0]
        if out.tolist() != [[0.0, 2.0, 0.0, 4.0]]:
            raise RuntimeError(f"OpenVINO computed Relu wrongly: {out.tolist()}.")
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    core.compile_model(core.read_model(tflite_path), "CPU")  # the TFLite frontend on our own artifact
    return {"openvino": ov.get_version(), "devices": devices, "frontends": frontends}


# --------------------------------------------------------------------------- the GUI-side driver


class SelfTest:
    def __init__(self, out: Path, timeout_s: float, say: Callable[[str], None]) -> None:
        self.out, self.timeout_s, self.say = out, timeout_s, say
        self.timings: dict[str, float] = {}
        self.app = self.window = None

    def step(self, name: str, fn: Callable[[], Optional[str]]) -> None:
        t0 = time.monotonic()
        try:
            detail = fn()
        except StepFailed as exc:
            raise StepFailed(f"{name}: {exc}") from None
        except Exception as exc:  # noqa: BLE001 - any failure is the self-test's answer, with its reason
            message = getattr(exc, "message", None)  # EdgeWizard's own errors say it in one sentence
            if message is None:
                import traceback

                tail = "".join(traceback.format_exception(exc)[-6:]).rstrip()
                message = f"{type(exc).__name__}: {exc}\n{tail}"
            raise StepFailed(f"{name}: {message}") from exc
        self.timings[name] = time.monotonic() - t0
        self.say(f"[ok] {name} ({self.timings[name]:.1f} s){': ' + detail if detail else ''}")

    # -- Qt helpers
    def wait(self, done: Callable[[], bool], what: str) -> None:
        from PySide6.QtCore import QCoreApplication, QEventLoop

        deadline = time.monotonic() + self.timeout_s
        while not done():
            if time.monotonic() > deadline:
                raise StepFailed(f"{what} did not finish within {self.timeout_s:.0f} s.")
            QCoreApplication.processEvents(QEventLoop.AllEvents, 50)
            time.sleep(0.01)

    def job(self, func: str, *args, **kwargs):
        """Run `func` in the window's worker through the GUI's job adapter; its result or StepFailed."""
        jobs = self.window.jobs
        self.wait(lambda: not jobs.busy, "the previous step")
        job = jobs.start(func, *args, **kwargs)
        self.wait(lambda: not job.running, job.name)
        outcome = {"error": job.error} if job.error is not None else {"done": job.result}
        if "error" in outcome:
            err = outcome["error"]
            details = getattr(err, "details", "") or ""
            tail = "\n".join(details.strip().splitlines()[-15:])
            raise StepFailed(getattr(err, "message", str(err)) + (f"\n{tail}" if tail else ""))
        return outcome["done"]

    # -- the steps
    def start_window(self) -> str:
        from PySide6.QtCore import QSettings
        from PySide6.QtWidgets import QApplication

        from . import netron_scheme
        from .main_window import MainWindow
        from .settings import Settings

        self.web_engine = netron_scheme.prepare_web_engine()  # must precede the QApplication
        self.app = QApplication.instance() or QApplication(["edgewizard"])
        # Own settings file: the self-test never changes the person's recent files or window size.
        settings = Settings(QSettings(str(self.out / "self-test-settings.ini"), QSettings.IniFormat))
        self.window = MainWindow(settings=settings, welcome=False)
        self.window.show()
        self.wait(lambda: self.window.isVisible(), "showing the window")
        return f"Qt platform {self.app.platformName()}"

    def graph_view_files(self) -> str:
        """The Netron view needs Qt WebEngine's helper process and resources, and Netron's files."""
        from PySide6.QtCore import QLibraryInfo

        from . import netron_scheme

        reason = self.web_engine or netron_scheme.unavailable_reason()
        if reason:
            raise StepFailed(reason)
        helper = Path(QLibraryInfo.path(QLibraryInfo.LibraryExecutablesPath)) / (
            "QtWebEngineProcess.exe" if os.name == "nt" else "QtWebEngineProcess")
        resources = Path(QLibraryInfo.path(QLibraryInfo.DataPath)) / "resources" / "qtwebengine_resources.pak"
        for need in (helper, resources, netron_scheme.netron_dir() / "index.html", netron_scheme.resources_dir() / "bridge.js"):
            if not need.is_file() and not (sys.platform == "darwin" and need is helper):  # macOS: inside a framework
                raise StepFailed(f"{need} is missing.")
        return f"Netron at {netron_scheme.netron_dir()}"

    def load_sample(self) -> str:
        from edgewizard.core.samples import sample_model_path

        from .jobs_qt import INSPECT

        failures = []
        self.window.jobs.failed.connect(lambda job: failures.append(job.error) if job.func == INSPECT else None)
        self.window.open_model(str(sample_model_path()))
        self.wait(lambda: self.window.state.model is not None or failures, "loading the sample")
        if failures:
            raise StepFailed(getattr(failures[0], "message", str(failures[0])))
        model = self.window.state.model
        names = [t.name for t in model.graph.inputs]
        if "image" not in names:
            raise StepFailed(f"the sample's inputs are {names}, expected 'image'.")
        return f"{model.format}, {len(model.graph.nodes)} nodes"

    def convert(self) -> str:
        from dataclasses import replace

        from edgewizard.core.convert.base import ConvertOptions
        from edgewizard.core.samples import sample_calibration_path

        from .jobs_qt import CONVERT

        state = self.window.state
        options = ConvertOptions()
        options = replace(options, calibration=replace(options.calibration, sources=((None, str(sample_calibration_path())),)))
        plan = state.plan.with_targets(tuple(TARGETS)).with_options(options).with_output_dir(str(self.out))
        manifest = self.job(CONVERT, plan, force=True)
        self.files = {}
        for artifact in manifest.artifacts:
            if artifact.status != "ok":
                raise StepFailed(f"{artifact.target} ended as {artifact.status}: {list(artifact.notes)}")
            self.files[artifact.target] = self.out / artifact.model_file
        missing = [t for t in TARGETS if t not in self.files or not self.files[t].is_file()]
        if missing:
            raise StepFailed(f"no model file for {', '.join(missing)}.")
        return ", ".join(f"{p.name} ({p.stat().st_size // 1024} KiB)" for p in self.files.values())

    def runtimes(self) -> str:
        found = self.job("edgewizard.gui.self_test:runtime_check", str(self.files["tflite-int8"]))
        return f"OpenVINO {found['openvino'].split('-')[0]}: devices {', '.join(found['devices'])}; frontends {', '.join(found['frontends'])}"

    def verify(self) -> str:
        from edgewizard.core.plan import LoadOptions, Selection
        from edgewizard.core.samples import sample_model_path, sample_test_path
        from edgewizard.core.verify import Thresholds, VerifyData, save

        data = VerifyData.from_path(str(sample_test_path()), label="the sample's test split")
        report = self.job("edgewizard.core.verify:verify", str(sample_model_path()), LoadOptions(), Selection(),
                          [str(p) for p in self.files.values()], data, Thresholds())
        save(report, self.out)
        parts = []
        for check in report.artifacts:
            if check.status != "ok":
                reasons = "; ".join([f.message for f in check.flags] + list(check.notes)) or "no reason given"
                raise StepFailed(f"{check.file} is {check.status}: {reasons}")
            top1 = [o.top1_agreement for o in check.outputs if getattr(o, "top1_agreement", None) is not None]
            parts.append(f"{check.file} {check.runtime}" + (f" top-1 agreement {100 * top1[0]:.1f}%" if top1 else ""))
        return "; ".join(parts)

    def bench(self, target: str, device: str) -> str:
        from edgewizard.core.bench.result import write_json
        from edgewizard.core.bench.runner import BenchRequest, BenchRun

        run = BenchRun(BenchRequest(str(self.files[target]), device, count=BENCH_COUNT, warmup=5)).start()
        self.wait(lambda: run.done, f"the {device} benchmark")
        result = run.result()
        if run.error is not None:
            raise StepFailed(run.error.message + ("\n" + run.error.details[-1500:] if run.error.details else ""))
        if result.count != BENCH_COUNT or run.state != "finished":
            raise StepFailed(f"measured {result.count} of {BENCH_COUNT} inferences ({run.state}).")
        write_json(self.out / f"bench-{target}.json", result)
        return f"{result.runtime}: median {result.median_ms:.3f} ms, p99 {result.p99_ms:.3f} ms"

    def agent_file(self) -> str:
        """The agent's source is sent over ssh to other computers: it must be in the app as a file."""
        from edgewizard.core.bench.launch import agent_source

        source = agent_source()
        compile(source, "agent.py", "exec")
        return f"{len(source)} bytes"

    def report(self) -> str:
        from edgewizard.core.report import write_report

        path = write_report(self.out)
        text = path.read_text(encoding="utf-8")
        missing = [t for t in TARGETS if t not in text]
        if missing:
            raise StepFailed(f"{path} does not mention {', '.join(missing)}.")
        return f"{path} ({len(text) // 1024} KiB)"

    def close(self) -> None:
        """As gui/app.py does: close the window (stops the worker), drop it, then shut Qt down while
        Python is whole, so the web view goes before its profile."""
        if self.window is not None:
            self.window.close()
            self.window = None  # the last reference: the window and its web view are deleted now
        if self.app is not None:
            self.app.processEvents()
            self.app.shutdown()
            self.app = None


def main(argv: Optional[list] = None) -> int:
    parser = argparse.ArgumentParser(prog="edgewizard --self-test", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", metavar="DIR", help="keep the outputs (models, report) in DIR (default: a temporary folder, removed on success)")
    parser.add_argument("--timeout", type=float, default=600.0, metavar="S", help="longest time one step may take (default 600)")
    args = parser.parse_args(argv or [])
    os.environ["QT_QPA_PLATFORM"] = "offscreen"  # checks the GUI without showing it, display or not
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # Chromium (inside Qt WebEngine) aborts the whole process when started as root with its sandbox on.
        os.environ["QTWEBENGINE_DISABLE_SANDBOX"] = "1"
    # Not in the session's temp folder: after a failure these outputs are kept on purpose, for a look.
    out = Path(args.out).expanduser() if args.out else Path(tempfile.mkdtemp(prefix="edgewizard-selftest-"))
    out.mkdir(parents=True, exist_ok=True)

    def say(line: str) -> None:
        print(f"self-test: {line}", flush=True)

    say(f"{'frozen app ' + sys.executable if getattr(sys, 'frozen', False) else 'from source, Python ' + sys.executable}; outputs in {out}")
    test = SelfTest(out, args.timeout, say)
    started = time.monotonic()
    code = 0
    try:
        test.step("window", test.start_window)
        test.step("graph view files", test.graph_view_files)
        test.step("load the sample (worker process)", test.load_sample)
        test.step(f"convert to {' and '.join(TARGETS)}", test.convert)
        test.step("OpenVINO plugins and frontends", test.runtimes)
        test.step("verify on the sample's test split", test.verify)
        test.step(f"benchmark {BENCH_COUNT} inferences, LiteRT CPU", lambda: test.bench("tflite-int8", "tflite:CPU"))
        test.step(f"benchmark {BENCH_COUNT} inferences, OpenVINO CPU", lambda: test.bench("openvino-fp16", "openvino:CPU"))
        test.step("bench agent file for ssh", test.agent_file)
        test.step("report", test.report)
    except StepFailed as exc:
        say(f"FAILED at {exc}")
        say(f"outputs kept in {out}")
        code = 1
    finally:
        test.close()
    if code == 0:
        say(f"passed in {time.monotonic() - started:.1f} s")
        if not args.out:
            shutil.rmtree(out, ignore_errors=True)
    return code
