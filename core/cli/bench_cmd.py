"""`edgewizard bench`: run a converted model on a device, here or over ssh, and report its latency."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from .. import tempdirs
from ..devices import bench_kinds, by_bench, device as catalogue_entry, devices
from ..errors import EdgeWizardError, MissingDependency, UserError

# core's sentence for the NCS2's missing runtime says what to install and where the wizard sets it up; the
# command line adds the option that runs the benchmark under that Python.
RUNTIME_PYTHON_HINT = "--runtime-python PATH runs the benchmark under that Python"


def catalogued(device: str):
    """The catalogue's entry for a canonical bench device: what it loads and what the bundled sample is
    converted to when no MODEL is given. OpenVINO devices it does not list load what OpenVINO's CPU does."""
    return by_bench(device) or catalogue_entry("openvino:CPU")


def _sample_targets() -> str:
    kinds: dict[str, list[str]] = {}
    for d in devices():
        if d.bench:
            kinds.setdefault(d.default_target, []).append(d.bench)
    return "; ".join(f"{target} for {', '.join(names)}" for target, names in kinds.items())


DEFAULT_SECONDS = 10.0


def add_parser(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="measure a converted model's latency on a device",
        description="Run a converted model on a device and report its latency: first inference, mean, median, "
        "p90, p99, min, max and throughput. MODEL is a .tflite (an _edgetpu.tflite for the Edge TPU), an OpenVINO "
        ".xml (its .bin beside it) or an .onnx file. Without MODEL, the bundled sample is first converted for "
        "--device into a temporary folder (" + _sample_targets() + "; edgetpu needs "
        "edgetpu_compiler), which takes a few seconds. --json prints: device, runtime, count, first_ms, mean_ms, "
        "median_ms, p90_ms, p99_ms, min_ms, max_ms, throughput_fps, stdev_ms, elapsed_s, warmup_count, load_ms, "
        "threads, model, host, status, error, device_name, notes, precision, default_precision, precision_requested "
        "and, with --profile, profile: [{node, op, ms, share, precision, source_node, block}] and profile_info "
        "(source, runs, total_ms, latency_ms, available, note). Exit code 3 when the device or its runtime is missing.",
    )
    p.add_argument("model", nargs="?", help="converted model file (default: the bundled sample, converted for --device)")
    p.add_argument("--device", "-d", metavar="D", help=", ".join(bench_kinds()) + ", edgetpu:usb:N or edgetpu:pci:N "
                   "(default: edgetpu for *_edgetpu.tflite, openvino:CPU for .xml/.onnx, otherwise tflite:CPU)")
    p.add_argument("--runtime-python", metavar="PATH", help="the Python that has the runtime; for myriad, one set up "
                   "with Intel's own OpenVINO 2022.3 download (the launcher the wizard's NCS2 setup makes, or a Python "
                   "3.8-3.10 after Intel's setupvars); with --ssh, its path on that computer (default there: python3)")
    p.add_argument("--ssh", metavar="HOST", help="run on another computer over ssh (host, user and key from your ssh "
                   "config, no password prompt); the model is sent over the connection and nothing is installed there")
    g = p.add_mutually_exclusive_group()
    g.add_argument("-n", type=int, dest="count", metavar="N", help="measure N inferences")
    g.add_argument("--seconds", type=float, metavar="S", help=f"measure for S seconds (default {DEFAULT_SECONDS:g})")
    p.add_argument("--warmup", type=int, default=5, metavar="N", help="inferences run first and left out of the statistics (default 5)")
    p.add_argument("--threads", type=int, metavar="N", help="CPU threads for LiteRT / OpenVINO CPU (default: the runtime's)")
    p.add_argument("--precision", metavar="P", default="default",
                   help="OpenVINO devices: the precision to compute in, f32, f16 or bf16 (default: the device's own, which "
                   "is bf16 on CPUs with AMX or AVX512-BF16); the precision the device really used is reported")
    p.add_argument("--data", metavar="FILE", help=".npy/.npz of input samples, cycled (default: random inputs)")
    p.add_argument("--csv", metavar="FILE", help="write every latency (index, phase, latency_ms) to FILE")
    p.add_argument("--timeout", type=float, default=60.0, metavar="S", help="stop a run that sends nothing for S seconds as hung (default 60)")
    p.add_argument("--profile", action="store_true", help="after the latency run, measure each op's time (OpenVINO's "
                   "performance counters, LiteRT's op profiling) and print the ops by time; the latency figures are "
                   "measured before, without it")
    p.add_argument("--probe", action="store_true", help="only list the runtimes and devices where the benchmark would run")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument("--debug", action="store_true", help="show details on errors")
    p.set_defaults(run=run)


def run(args) -> int:
    try:
        return _run(args)
    except EdgeWizardError as exc:
        raise with_runtime_option(exc)


def with_runtime_option(exc: EdgeWizardError) -> EdgeWizardError:
    """The NCS2's missing runtime, as core words it (naming no option), with the option that gives that Python."""
    if isinstance(exc, MissingDependency) and not exc.cli_hint and _ncs2_runtime_words() in exc.message:
        exc.cli_hint = RUNTIME_PYTHON_HINT
    return exc


def _ncs2_runtime_words() -> str:
    return catalogue_entry("myriad").install_hint


def _run(args) -> int:
    from ..bench.devices import discover
    from ..bench.launch import Where
    from ..bench.runner import BenchRequest, canonical_device, canonical_precision, default_device

    where = Where(python=args.runtime_python, ssh_host=args.ssh)
    if args.probe:
        found = discover(where)
        print(json.dumps({"where": found.where, "ready": found.ready, "missing": found.missing,
                          "devices": [d.__dict__ for d in found.devices]}, indent=2) if args.json else
              found.summary().replace(_ncs2_runtime_words(), f"{_ncs2_runtime_words()} ({RUNTIME_PYTHON_HINT})"))
        return 0
    device = canonical_device(args.device or default_device(args.model or ""))
    precision = canonical_precision(args.precision)
    runs = catalogued(device)
    tmp = None
    try:
        if args.model:
            model = Path(args.model)
            if not runs.loads(model.name):
                raise UserError(f"{device} runs {' or '.join(runs.file_kinds)} models, and {model.name} is not one: convert it "
                                f"first, e.g. edgewizard convert {model.name} -t {runs.default_target} -o OUTDIR.")
        else:
            status = discover(where).status(device)  # before converting: a missing device costs nothing
            if not status.ready:
                raise MissingDependency(status.reason)
            tmp = tempdirs.mkdtemp("bench-sample-")
            model = convert_sample(runs.default_target, tmp, quiet=args.json)
        seconds = args.seconds if args.seconds is not None else (None if args.count else DEFAULT_SECONDS)
        request = BenchRequest(str(model), device, count=args.count, seconds=seconds, warmup=args.warmup, threads=args.threads, precision=precision, data=args.data, where=where,
                               idle_timeout_s=args.timeout, profile=bool(getattr(args, "profile", False)))
        return measure(request, args)
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


def measure(request, args) -> int:
    from ..bench.result import write_csv
    from ..bench.runner import BenchRun

    live = sys.stderr.isatty() and not args.json
    bench = BenchRun(request).start()
    interrupted = False
    try:
        while not bench.wait(0.25):
            if live:
                _show(bench.result().line() if len(bench.samples) else f"{bench.state}…")
    except KeyboardInterrupt:
        interrupted = True
        bench.stop()
        bench.wait()
    if live:
        _show("")
    result = bench.result()
    if bench.error is not None and not result.count:
        raise bench.error  # nothing measured: the error alone says it (exit 3 for a missing device)
    if request.profile and result.profile is not None and result.profile.ops:
        result = _with_source_nodes(result, Path(request.model), quiet=args.json)
    if args.json:
        print(json.dumps(json_summary(result), indent=2, ensure_ascii=False))
    else:
        print(summary_text(result))
        if request.profile:
            print("\n" + profile_text(result.profile))
    if args.csv:  # after the summary, so a full disk does not cost the person the figures
        try:
            write_csv(Path(args.csv), bench.samples.snapshot(), bench.warmup.snapshot())
        except OSError as exc:
            from ..files import disk_problem

            raise (disk_problem(exc, Path(args.csv).parent)
                   or UserError(f"Cannot write {args.csv}: {exc.strerror or exc}.")) from exc
    if bench.error is not None:
        raise bench.error
    return 130 if interrupted else 0


def _with_source_nodes(result, model: Path, quiet: bool):
    """The profile's ops named after the original model's layers, when the manifest.json beside the model file
    says which model and cut it was converted from (in the worker: it loads the original)."""
    from dataclasses import replace

    from ..jobs import JobRunner
    from ..manifest import read_manifest
    from ..plan import LoadOptions

    manifest = read_manifest(model.parent)
    if manifest is None or model.name not in manifest.file_names() or not Path(manifest.source.path).exists():
        return result
    if not quiet:
        print("Naming the ops after the original model's layers…", file=sys.stderr, flush=True)
    try:
        with JobRunner() as runner:
            profile = runner.submit("edgewizard.core.bench.profile:map_profile", result.profile, manifest.source.path,
                                    LoadOptions(), manifest.selection(), str(model)).result()
    except EdgeWizardError as exc:  # the figures stand without the names
        if not quiet:
            print(f"edgewizard: the ops keep the converted model's names: {exc.message}", file=sys.stderr)
        return result
    return replace(result, profile=profile)


def convert_sample(target: str, folder: Path, quiet: bool) -> Path:
    from dataclasses import replace

    from ..convert.base import ConvertOptions
    from ..convert.edgetpu import NOT_COMPILED
    from ..convert.edgetpu_compiler import find_compiler, install_hint
    from ..jobs import JobRunner
    from ..plan import Plan, Source
    from ..samples import sample_calibration_path, sample_model_path
    from .terminal import progress_printer

    options = ConvertOptions()
    if target == "edgetpu":
        if find_compiler() is None:
            raise MissingDependency("The sample must be compiled for the Edge TPU first and edgetpu_compiler is not "
                                    f"installed: {install_hint()} Or give a compiled _edgetpu.tflite as MODEL.")
        options = replace(options, calibration=replace(options.calibration, sources=((None, str(sample_calibration_path())),)))
    if not quiet:
        print(f"Converting the bundled sample to {target} first (give a MODEL to skip this).", file=sys.stderr)
    with JobRunner() as runner, progress_printer(enabled=not quiet) as show:
        plan = Plan(source=Source(path=str(sample_model_path())), targets=(target,), options=options, output_dir=str(folder))
        manifest = runner.run("edgewizard.core.steps:convert_plan", plan, on_event=show)
    artifact = manifest.artifact(target)
    if artifact.status == NOT_COMPILED:
        raise MissingDependency("edgetpu_compiler did not compile the sample, so there is no Edge TPU model to run.")
    names = [f.name for f in artifact.files if f.name.endswith((".tflite", ".xml"))]
    names.sort(key=lambda n: not n.endswith("_edgetpu.tflite"))
    return folder / names[0]


def summary_text(r) -> str:
    if not r.count:
        return f"No inferences were measured ({r.status})."
    lines = [
        f"Model:       {r.model}",
        f"Device:      {r.device}" + (f" ({r.device_name})" if r.device_name else "") + f" via {r.runtime} on {r.host}",
        f"Load:        {r.load_ms:.1f} ms; first inference {r.first_ms:.3f} ms; {r.warmup_count} warm-up run(s)",
        f"Runs:        {r.count:,} in {r.elapsed_s:.2f} s" + ("" if r.status == "finished" else f" ({r.status})"),
        f"Latency ms:  mean {r.mean_ms:.3f}  median {r.median_ms:.3f}  p90 {r.p90_ms:.3f}  p99 {r.p99_ms:.3f}  "
        f"min {r.min_ms:.3f}  max {r.max_ms:.3f}",
        f"Throughput:  {r.throughput_fps:,.1f} inferences/s",
    ]
    if r.precision_label:
        lines.insert(2, f"Precision:   {r.precision_label}")
    lines += [f"Note: {n}" for n in r.notes]
    return "\n".join(lines)


def json_summary(r) -> dict:
    """The --json output: the result's fields; with a profile, its ops as rows and its other fields apart."""
    from ..bench.profile import json_rows

    d = r.to_dict()
    profile = d.pop("profile", None)
    if r.profile is not None:
        d["profile"] = json_rows(r.profile)
        d["profile_info"] = {k: v for k, v in profile.items() if k != "ops"}
    return d


def profile_text(p, top: int = 20) -> str:
    """The per-op table (the slowest `top` ops: node, op, ms, share, precision) and the time by op type."""
    from ..bench.profile import summary

    if p is None:
        return "Per-op profile: none came back (the run stopped first, or the agent is older than this EdgeWizard)."
    lines = [f"Per-op profile: {summary(p)}"]
    if not p.available or not p.ops:
        return lines[0]
    if p.note:
        lines.append(f"Note: {p.note}")
    width = min(60, max(len(_node_label(o)) for o in p.ops[:top]))
    kind = max(8, max(len(o.op) for o in p.ops[:top]))
    lines.append(f"  {'node':<{width}}  {'op':<{kind}}  {'ms':>9}  {'share':>6}  precision")
    for o in p.ops[:top]:
        lines.append(f"  {_clip(_node_label(o), width):<{width}}  {o.op:<{kind}}  {o.ms:9.4f}  {o.share:6.1%}  {o.precision}")
    if len(p.ops) > top:
        rest = p.ops[top:]
        lines.append(f"  … {len(rest)} more ops, {sum(o.ms for o in rest):.4f} ms together")
    lines.append("By op type:")
    for op, ms, share, count in p.by_type():
        lines.append(f"  {op:<{kind}}  {ms:9.4f} ms  {share:6.1%}  ({count} op{'s' if count != 1 else ''})")
    return "\n".join(lines)


def _node_label(o) -> str:
    return o.node + (f" (from {', '.join(o.source_nodes)})" if o.source_nodes else "")


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else "…" + text[-(width - 1):]


def _show(text: str) -> None:
    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns - 1
    except OSError:
        width = 79
    width = width if width > 20 else 79
    sys.stderr.write("\r" + text[:width].ljust(width) + ("" if text else "\r"))
    sys.stderr.flush()
