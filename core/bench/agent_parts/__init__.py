"""The bench agent's parts. The agent travels as ONE standard-library script (over ssh to a machine
without EdgeWizard, or to another interpreter); assemble.agent_source() joins these modules into it,
in the order of PARTS, with the device table written in as data. Each part has one job and imports
only the standard library at import time (the runtimes inside functions), so each also imports here:

base      protocol constants, AgentError, numpy and small helpers
table     the device table (titles, install hints, USB ids): replaced by the assembler's
usb       what is plugged in: USB accelerators, the Edge TPU library, parse_device
runtimes  the TFLite interpreter module and OpenVINO's Core, what the NCS2 / OpenVINO lack
probe     what this machine offers, per device ready or what to install
sessions  a model opened on LiteRT / Edge TPU / OpenVINO, behind one small interface
feeds     the input arrays: random, or the samples of a .npy/.npz
measure   the timing loop and its batches of latencies
litert_ops LiteRT's per-op time (its tool's op profiling, else each op timed alone) and timing helpers
profiling per-op time after the latency run: OpenVINO's counters, LiteRT's (litert_ops), the Edge TPU block
main      the wire: output stream, request, files, run or probe, end; the script's entry point"""

PARTS = ("base", "table", "usb", "runtimes", "probe", "sessions", "feeds", "measure", "litert_ops", "profiling", "main")

from .assemble import default_table  # noqa: E402 (after PARTS, which it reads)
from .table import use_table  # noqa: E402

use_table(default_table())  # in this process the parts read the device catalogue's table
