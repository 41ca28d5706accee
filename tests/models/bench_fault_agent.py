"""Fault-injection test double of the bench agent (for our own code, named as such): the real agent's
source with its TFLite CPU runtime replaced by a fake that misbehaves on purpose after N inferences,
or with a protocol fault. Sent to the runner as BenchRequest(agent_source=...)."""
from __future__ import annotations

from edgewizard.core.bench.launch import agent_source

MODES = ("raise", "exit", "hang", "hang-load", "hang-hello", "garbage", "banner", "protocol-99")

PATCH = '''
# ---------------- fault injection: a test double, never shipped ----------------
FAULT_MODE, FAULT_AFTER = {mode!r}, {after!r}
if FAULT_MODE == "protocol-99":
    PROTOCOL = 99
if FAULT_MODE == "hang-hello":  # an ssh login that never gets as far as Python
    time.sleep(3600)
if FAULT_MODE == "banner":  # what a chatty .bashrc on the remote machine would do
    sys.stdout.write("Welcome to Raspberry Pi OS!\\n")
    sys.stdout.flush()


class FaultSession(object):
    runtime, version, device_name = "fault-injection", "0", "test double"

    def __init__(self, path, option, threads, precision=None):
        if FAULT_MODE == "hang-load":
            time.sleep(3600)
        self.inputs = [{{"name": "x", "shape": [1, 4], "dtype": "float32"}}]
        self.outputs, self.notes, self.n = list(self.inputs), [], 0

    def set_input(self, index, array):
        pass

    def run(self):
        self.n += 1
        time.sleep(0.001)
        if self.n > FAULT_AFTER:
            if FAULT_MODE == "raise":
                raise OSError("device unplugged (injected fault)")
            if FAULT_MODE == "exit":
                os._exit(9)
            if FAULT_MODE == "hang":
                time.sleep(3600)


RUNTIMES["tflite"] = FaultSession
_real_send = Output.send


def _send(self, message_type, **fields):
    if FAULT_MODE == "garbage" and message_type == "batch" and getattr(self, "batches", 0) == 1:
        self._file.write(b"Segmentation fault (core dumped)\\n")
    self.batches = getattr(self, "batches", 0) + (message_type == "batch")
    _real_send(self, message_type, **fields)


Output.send = _send

'''


def fault_agent(mode: str, after: int = 300) -> bytes:
    assert mode in MODES, mode
    source = agent_source().decode("utf-8")
    guard = 'if __name__ == "__main__":'
    assert source.count(guard) == 1
    return source.replace(guard, PATCH.format(mode=mode, after=after) + guard).encode("utf-8")
