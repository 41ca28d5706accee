"""Opening a model on a runtime: a session has inputs/outputs (name, shape, dtype), the runtime's name
and version, set_input(index, array) and run(); RUNTIMES maps a device kind to the session that opens it."""
import os

from .base import AgentError, _first_line, _property, cpu_name, need_numpy, precision_name
from .runtimes import myriad_problem, no_openvino_device, openvino_core, ov_name, tflite_module
from .usb import edgetpu_library, edgetpu_problem, google_pycoral
from .table import title


class TFLiteSession(object):
    def __init__(self, path, threads, edgetpu_option=None):
        np = need_numpy()
        self.notes = []
        delegates = []
        if edgetpu_option is not None:
            problem = edgetpu_problem(edgetpu_option)
            if problem:
                raise AgentError("missing", problem)
            with open(path, "rb") as f:
                if b"edgetpu-custom-op" not in f.read():
                    self.notes.append("This model is not compiled for the Edge TPU (no edgetpu-custom-op): it runs on "
                                      "the CPU. Compile it with edgetpu_compiler and bench the _edgetpu.tflite file.")
        kwargs = {"num_threads": threads} if threads else {}
        if edgetpu_option is not None and google_pycoral():
            from pycoral.utils import edgetpu
            import pycoral
            self.runtime, self.version = "pycoral", str(getattr(pycoral, "__version__", ""))
            try:
                self.interpreter = edgetpu.make_interpreter(path, device=edgetpu_option or None)
            except ValueError as exc:
                raise AgentError("missing", "The Edge TPU did not open through pycoral (%s): replug the accelerator "
                                 "and check that no other program uses it." % exc)
        else:
            module, self.runtime, self.version = tflite_module(for_edgetpu=edgetpu_option is not None)
            if edgetpu_option is not None:
                lib = edgetpu_library()[0]
                try:
                    delegates.append(module.load_delegate(lib, {"device": edgetpu_option} if edgetpu_option else {}))
                except (ValueError, RuntimeError, OSError) as exc:
                    raise AgentError("missing", "The Edge TPU delegate did not load into %s %s (%s): replug the accelerator; "
                                     "if it persists, libedgetpu and this runtime come from incompatible builds, so run the "
                                     "benchmark with a Python that has Google's pycoral or tflite_runtime." % (self.runtime, self.version, exc))
                kwargs["experimental_delegates"] = delegates
            try:
                self.interpreter = module.Interpreter(model_path=path, **kwargs)
            except ValueError as exc:
                raise AgentError("user", "%s could not open %s: %s" % (self.runtime, os.path.basename(path), exc))
        try:
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:  # e.g. TensorFlow (Flex) ops, which a TFLite runtime lacks
            raise AgentError("user", "%s cannot run %s: %s" % (self.runtime, os.path.basename(path), _first_line(exc)),
                             str(exc))
        self._details = self.interpreter.get_input_details()
        self.inputs = [{"name": d["name"], "shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name,
                        "quantization": [float(d["quantization"][0]), int(d["quantization"][1])]} for d in self._details]
        self.outputs = [{"name": d["name"], "shape": [int(x) for x in d["shape"]], "dtype": np.dtype(d["dtype"]).name}
                        for d in self.interpreter.get_output_details()]
        self.device_name = title("edgetpu") if edgetpu_option is not None else cpu_name()
        self.run = self.interpreter.invoke
        self.kind, self.path, self.threads = ("edgetpu" if edgetpu_option is not None else "tflite"), path, threads

    def set_input(self, index, array):
        self.interpreter.set_tensor(self._details[index]["index"], array)


class OpenVINOSession(object):
    def __init__(self, path, device, threads, precision=None):
        if device == "MYRIAD":
            problem = myriad_problem()
            if problem:
                raise AgentError("missing", problem)
        core, self.version = openvino_core()
        self.runtime, self.notes = "openvino", []
        available = list(core.available_devices)
        if device not in available and not any(d.split(".")[0] == device for d in available) and device not in ("AUTO",):
            raise AgentError("missing", no_openvino_device(self.version, device, available))
        try:
            model = core.read_model(path)
        except Exception as exc:
            raise AgentError("user", "OpenVINO could not read %s: %s" % (os.path.basename(path), _first_line(exc)), str(exc))
        # Only the inputs matter: a model whose inner shapes are computed at run time (a detector's
        # anchor grid from Range ops) has model.is_dynamic() true, yet compiles and runs.
        dynamic = ["'%s' (shape %s)" % (_port_name(i, p), p.get_partial_shape()) for i, p in enumerate(model.inputs)
                   if p.get_partial_shape().is_dynamic]
        if dynamic:
            raise AgentError("user", "The model's input%s %s %s not fixed in size; convert it with fixed input shapes "
                             "to benchmark it." % ("s" if len(dynamic) > 1 else "", ", ".join(dynamic),
                                                               "are" if len(dynamic) > 1 else "is"))
        self.default_precision = precision_name(_property(core, device, "INFERENCE_PRECISION_HINT"))
        config = {"PERFORMANCE_HINT": "LATENCY"}
        if threads and device == "CPU":
            config["INFERENCE_NUM_THREADS"] = int(threads)
        if precision and device == "MYRIAD":
            raise AgentError("user", "The Neural Compute Stick 2 always computes in f16; run it at the device's default precision.")
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            compiled = core.compile_model(model, device, config)
        except Exception as exc:
            raise AgentError("user", "OpenVINO could not compile %s for %s: %s" % (os.path.basename(path), device, _first_line(exc)),
                             str(exc))
        # What the device really computes in: a hint it cannot honour (f16 on a CPU without FP16
        # arithmetic) falls back silently, so read it back rather than repeat the request.
        self.precision = precision_name(_property(compiled, "INFERENCE_PRECISION_HINT"))
        if device == "MYRIAD":
            self.precision = self.default_precision = "f16"
        self.request = compiled.create_infer_request()
        self.kind, self.profile_args = "openvino", (core, model, device, config)  # the profile compiles it again
        self.inputs = [self._port(i, p, self.request.get_input_tensor(i)) for i, p in enumerate(compiled.inputs)]
        self.outputs = [self._port(i, p, self.request.get_output_tensor(i)) for i, p in enumerate(compiled.outputs)]
        self.device_name = ov_name(core, device)
        # start_async + wait: no per-call copy of the outputs into a dict, as benchmark_app does it
        start, wait = self.request.start_async, self.request.wait

        def run():
            start()
            wait()
        self.run = run

    @staticmethod
    def _port(index, port, tensor):
        return {"name": _port_name(index, port), "shape": [int(x) for x in tensor.shape], "dtype": tensor.data.dtype.name}

    def set_input(self, index, array):
        self.request.get_input_tensor(index).data[...] = array


def _port_name(index, port):
    try:
        return port.get_any_name()
    except RuntimeError:  # an unnamed port
        return "port%d" % index


def _tflite_only(session_factory):
    def open_session(path, option, threads, precision=None):
        if precision:
            raise AgentError("user", "A precision can be chosen only for OpenVINO devices; LiteRT runs the model "
                             "in the precision it was converted to.")
        return session_factory(path, option, threads)
    return open_session


RUNTIMES = {
    "tflite": _tflite_only(lambda path, option, threads: TFLiteSession(path, threads)),
    "edgetpu": _tflite_only(lambda path, option, threads: TFLiteSession(path, threads, edgetpu_option=option)),
    "openvino": OpenVINOSession,
    "myriad": OpenVINOSession,
}
