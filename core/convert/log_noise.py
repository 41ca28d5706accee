"""Which lines of a conversion's log are the converters' technical chatter (TensorFlow's and absl's C++
logging, the TFLite quantizer's settings dump, Python warnings from inside the libraries) rather than
something a person acts on. The wizard hides them from its live log; the full log keeps every line."""
from __future__ import annotations

import re

_NOISE = re.compile("|".join((
    # absl/glog C++ lines: "W0000 00:00:1796309592.329132    5177 tf_tfl_flatbuffer_helpers.cc:364] Ignored ..."
    r"^[IWEF]\d{4} [\d:.]+\s+\d+ [\w./-]+:\d+\]",
    # TensorFlow's older C++ lines: "2024-05-01 10:00:00.000000: I tensorflow/core/util/port.cc:113] oneDNN ..."
    r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [IWEF] [\w./-]+:\d+\]",
    r"^WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR",
    r"^fully_quantize: \d+, inference_type: \d+",  # the TFLite quantizer's settings, printed on every run
    r"^(?:WARNING|INFO):absl:",
    r"^INFO:nncf:",
    r"^To enable the following instructions: .* rebuild TensorFlow",
    r"^This TensorFlow binary is optimized to use available CPU instructions",
    r"^\S+\.py:\d+: \w*Warning: ",  # a library's warnings.warn(...) ...
    r"^\s+warnings\.warn\(",  # ... and the source line Python prints under it
)))


def is_noise(line: str) -> bool:
    """True for a line only the converters' authors would read."""
    return bool(_NOISE.match(line))
