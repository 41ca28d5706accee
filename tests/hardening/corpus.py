"""The bad-model corpus of issue 10: broken, hostile and absurd model inputs, derived from small
valid models generated on the spot, each with the exit code and a word its one-sentence error must have.

SPECS is known at collection time (for parametrize); `materialize(folder)` writes the files once
per test session (the `bad_models` fixture). How each file is made is in corpus_makers.py."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pytest

from tests.hardening.corpus_makers import (Bases, corrupt, empty_file, from_bases, ir_with, keras_corrupt, keras_with_huge_input,
                                           lambda_layer_model, meta_with, meta_truncated_data, onnx_cycle, onnx_huge, pb_cycle,
                                           pb_huge, random_bytes, base_with, sm_corrupt, sm_garbage, sm_no_variables,
                                           sm_truncated, sm_truncated_variables, tflite_huge, ir_huge, truncate,
                                           weights_only, make_bases, png_bytes, write_zip_bomb)

@dataclass(frozen=True)
class Spec:
    """One corpus case: `rel` is the path inside the corpus folder; `code` is the exit code of
    `edgewizard inspect` and `convert`; `word` must appear in the error sentence (case-insensitive);
    `kind` groups cases that fail the same way (for the report table); `heavy` cases get
    their peak memory measured in a fresh process."""

    id: str
    rel: str
    make: Callable[[Path, "Bases"], None]
    word: str
    code: int = 2
    kind: str = ""
    heavy: bool = False
    extra: tuple[str, ...] = ()  # extra CLI arguments
    inspect_code: int = -1  # when inspect ends differently from convert (-1: the same as `code`)


@dataclass(frozen=True)
class Case:
    id: str
    path: Path
    code: int
    word: str
    kind: str
    heavy: bool
    extra: tuple[str, ...]
    inspect_code: int



# (base attribute, extension, word in the message for truncated, for corrupted)
_FILE_FORMATS = (("keras", ".keras", "truncated", "Keras"), ("h5", ".h5", "truncated", "Keras"),
                 ("pb", ".pb", "damaged", "damaged"), ("tflite", ".tflite", "truncated", "damaged"),
                 ("onnx", ".onnx", "ONNX", "ONNX"))

SPECS: list[Spec] = []
for _attr, _ext, _w_trunc, _w_corrupt in _FILE_FORMATS:
    SPECS += [
        Spec(f"truncated{_ext}", f"truncated/half{_ext}", base_with(_attr, truncate), _w_trunc, kind="truncated"),
        Spec(f"corrupted{_ext}", f"corrupted/flipped{_ext}",
             base_with(_attr, keras_corrupt if _attr == "keras" else corrupt), _w_corrupt, kind="corrupted"),
    ]
SPECS += [
    Spec("truncated.meta", "truncated/meta/model.ckpt.meta", meta_with(truncate), "damaged", kind="truncated"),
    Spec("corrupted.meta", "corrupted/meta/model.ckpt.meta", meta_with(corrupt), "damaged", kind="corrupted"),
    # The .meta graph is whole, and inspecting reads only it; the values are read when converting.
    Spec("truncated-checkpoint-data.meta", "truncated/ckptdata/model.ckpt.meta", meta_truncated_data, "checkpoint",
         kind="truncated", inspect_code=0),
    Spec("truncated.xml", "truncated/ir/half.xml", ir_with(mutate_xml=truncate), "OpenVINO", kind="truncated"),
    Spec("corrupted.xml", "corrupted/ir/flipped.xml", ir_with(mutate_xml=corrupt), "OpenVINO", kind="corrupted"),
    Spec("truncated.bin", "truncated/irbin/model.xml", ir_with(mutate_bin=truncate), "weights", kind="truncated"),
    Spec("xml-without-bin", "ir_no_bin/model.xml", ir_with(with_bin=False), "model.bin", kind="missing part"),
    Spec("truncated-saved_model.pb", "truncated/sm_pb", sm_truncated, "damaged", kind="truncated"),
    Spec("corrupted-saved_model.pb", "corrupted/sm_pb", sm_corrupt, "damaged", kind="corrupted"),
    Spec("garbage-saved_model.pb", "savedmodel_garbage", sm_garbage, "damaged", kind="random bytes"),
    Spec("savedmodel-without-variables", "savedmodel_no_variables", sm_no_variables, "variables",
         kind="missing part"),
    Spec("savedmodel-truncated-variables", "truncated/sm_vars", sm_truncated_variables, "damaged",
         kind="truncated"),
]
_RANDOM_WORDS = {".pb": "damaged", ".pbtxt": "UTF-8", ".meta": "damaged", ".onnx": "ONNX"}
for _ext in (".keras", ".h5", ".pb", ".pbtxt", ".meta", ".tflite", ".xml", ".onnx"):
    SPECS.append(Spec(f"random{_ext}", f"random/noise{_ext}", random_bytes, _RANDOM_WORDS.get(_ext, "content"),
                      kind="random bytes"))
    SPECS.append(Spec(f"empty{_ext}", f"empty/nothing{_ext}", empty_file, "empty", kind="empty"))
SPECS += [
    Spec("empty-folder", "empty/folder", lambda dst, b: dst.mkdir(), "saved_model.pb", kind="empty"),
    Spec("text-as.keras", "text/notes.keras", lambda dst, b: dst.write_text("These are my notes, not a model.\n"),
         "text file", kind="wrong kind"),
    Spec("png-as.onnx", "image/photo.onnx", lambda dst, b: dst.write_bytes(png_bytes()), "PNG image",
         kind="wrong kind"),
    Spec("zip-bomb.keras", "bomb/bomb.keras", from_bases(write_zip_bomb), "zip bomb", kind="zip bomb", heavy=True),
    Spec("weights-only.h5", "weights/only_weights.h5", weights_only, "only weights", kind="weights only"),
    Spec("lambda.keras", "lambda/with_lambda.keras", lambda_layer_model, "allow unsafe", kind="lambda"),
    Spec("huge-dim.onnx", "huge/huge.onnx", from_bases(onnx_huge), "2147483648", kind="absurd shape", heavy=True),
    Spec("huge-dim.tflite", "huge/huge.tflite", from_bases(tflite_huge), "2147483647", kind="absurd shape", heavy=True),
    Spec("huge-dim.xml", "huge/ir/huge.xml", from_bases(ir_huge), "2147483648", kind="absurd shape", heavy=True),
    Spec("huge-dim.keras", "huge/huge.keras", from_bases(keras_with_huge_input), "2147483648", kind="absurd shape",
         heavy=True),
    Spec("huge-dim.pb", "huge/huge.pb", from_bases(pb_huge), "2147483648", kind="absurd shape", heavy=True),
    Spec("cycle.onnx", "cycle/cycle.onnx", from_bases(onnx_cycle), "cycle", kind="cycle", heavy=True),
    Spec("cycle.pb", "cycle/cycle.pb", from_bases(pb_cycle), "cycle", kind="cycle", heavy=True),
]

IDS = [s.id for s in SPECS]
assert len(set(IDS)) == len(IDS)
BY_ID = {s.id: s for s in SPECS}


def materialize(folder: Path) -> dict[str, Case]:
    """Write every case under `folder` (bases in folder/_bases); returns id -> Case."""
    bases = make_bases(folder / "_bases")
    cases = {}
    for s in SPECS:
        dst = folder / s.rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        s.make(dst, bases)
        cases[s.id] = Case(s.id, dst, s.code, s.word, s.kind, s.heavy, s.extra,
                           s.code if s.inspect_code < 0 else s.inspect_code)
    return cases


_BUILT: dict[str, dict[str, Case]] = {}


@pytest.fixture(scope="session")
def bad_models(tmp_path_factory) -> dict[str, Case]:
    """The whole corpus, written once per session however many test modules use it."""
    if "cases" not in _BUILT:
        _BUILT["cases"] = materialize(tmp_path_factory.mktemp("bad_models"))
    return _BUILT["cases"]


@pytest.fixture(scope="session")
def lambda_model(bad_models) -> Path:
    return bad_models["lambda.keras"].path
