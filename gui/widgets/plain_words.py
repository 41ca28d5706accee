"""The wizard's words for what core names with ids and command-line flags: a conversion target as the
Target page's precision menu words it, and core sentences without "--flag" asides (the page has a
control for each)."""
from __future__ import annotations

import re

from edgewizard.core.devices import device

# How the wizard words each conversion target (the Target page's precision menu uses the same words).
TARGET_WORDS = {"edgetpu": "int8", "openvino-fp32": "FP32 (most accurate)", "openvino-fp16": "FP16 (smaller)",
                "openvino-int8": "INT8 (fastest; needs calibration data)", "tflite-float": "float32 (most accurate)",
                "tflite-fp16": "float16 weights (half the size)", "tflite-dynamic": "dynamic-range (int8 weights)",
                "tflite-int8": "full int8 (fastest on small CPUs)"}
_FAMILY = {"tflite": "TensorFlow Lite", "openvino": "OpenVINO"}


def target_words(target: str) -> str:
    """'tflite-dynamic' -> 'TensorFlow Lite's “dynamic-range (int8 weights)” precision'."""
    words = TARGET_WORDS.get(target)
    if words is None:
        return target
    if target == "edgetpu":
        return f"the {device('edgetpu').title}"
    family = _FAMILY[target.split("-")[0]]
    return f"{family}'s “{words.split(' (')[0]}” precision"


_IDS = re.compile(r"\b(" + "|".join(re.escape(t) for t in sorted(TARGET_WORDS, key=len, reverse=True)) + r")\b")
_FLAG_ASIDE = re.compile(r"\s*\([^()]*(?:--[a-z]|NNCF)[^()]*\)")  # "(--data)", "(an NNCF ignored scope for OpenVINO)"
_FLAG_PHRASE = re.compile(r"\s*(?:with|give|given with|as) --[a-z][\w-]*(?: [A-Z=]+)?")
_FLAG = re.compile(r"--[a-z][\w-]*")


def plain(text: str) -> str:
    """A core sentence in the wizard's words: target ids named as the Target page names them, asides about
    command-line flags dropped (the page has a control for each)."""
    text = _FLAG_ASIDE.sub("", text or "")
    text = _FLAG_PHRASE.sub("", text)
    text = _FLAG.sub("", text)
    return _IDS.sub(lambda m: target_words(m.group(1)), text)
