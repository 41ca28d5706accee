"""How the bad-model corpus (tests/hardening/corpus.py) is made: small valid models of every format,
and the ways they are broken (truncated, bytes flipped, a zip bomb, absurd shapes, cycles)."""
from __future__ import annotations

import os
import shutil
import struct
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path

from edgewizard.core.samples import sample_model_path

HUGE = 2**31  # the "absurd" dimension; TFLite stores int32 dims, so it gets 2**31 - 1 there
BOMB_BYTES = 3 * 2**30  # what the zip bomb's weights member claims to unpack to


# ---------------------------------------------------------------- valid bases


@dataclass(frozen=True)
class Bases:
    """Small valid models of every format, made once; mutations copy from them."""

    keras: Path
    h5: Path
    savedmodel: Path
    pb: Path
    meta: Path
    tflite: Path
    xml: Path
    onnx: Path


def make_bases(folder: Path) -> Bases:
    import warnings

    from tests.models import keras_models, other_formats, tf_graphs

    folder.mkdir(parents=True, exist_ok=True)
    keras_file = folder / "digits_cnn.keras"
    shutil.copy(sample_model_path(), keras_file)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # TF1 graph building and TFLite conversion are chatty
        h5 = keras_models.sequential_cnn(folder / "seq_cnn.h5")
        pb = tf_graphs.make_frozen_pb(folder / "frozen.pb")
        meta = tf_graphs.make_meta_checkpoint(folder / "ckpt")
        sm = tf_graphs.make_savedmodel(folder / "saved_model")
        tfl_dir = folder / "tflite_work"
        tfl_dir.mkdir()
        tflite = other_formats.tflite_float(tfl_dir, batch=1)
        xml = other_formats.openvino_ir(folder, "tiny_ir.xml")
        onnx_file = other_formats.onnx_model(folder, "tiny.onnx")
    return Bases(keras_file, h5, sm, pb, meta, tflite, xml, onnx_file)


# ---------------------------------------------------------------- mutations


def truncate(src: Path, dst: Path, keep: float = 0.5) -> None:
    data = src.read_bytes()
    dst.write_bytes(data[: int(len(data) * keep)])


def corrupt(src: Path, dst: Path, start: int = 8, length: int = 64) -> None:
    """XOR a run of bytes near the start, where every format keeps its structure (headers,
    offsets, the first records); flipping weights further in would leave a loadable model."""
    data = bytearray(src.read_bytes())
    for i in range(start, min(len(data), start + length)):
        data[i] ^= 0x5A
    dst.write_bytes(bytes(data))


def _copy_meta(b: Bases, dst_meta: Path) -> None:
    """The .meta with its checkpoint files, renamed to dst_meta's stem."""
    src_prefix = b.meta.with_suffix("")
    dst_prefix = dst_meta.with_suffix("")
    for f in src_prefix.parent.glob(src_prefix.name + ".*"):
        shutil.copy(f, dst_prefix.parent / (dst_prefix.name + f.name[len(src_prefix.name):]))


def _ir_copy(b: Bases, dst_xml: Path, with_bin: bool = True) -> None:
    shutil.copy(b.xml, dst_xml)
    if with_bin:
        shutil.copy(b.xml.with_suffix(".bin"), dst_xml.with_suffix(".bin"))


def png_bytes() -> bytes:
    """A real 8x8 grey PNG image."""
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    rows = b"".join(b"\x00" + bytes(range(0, 256, 32)) for _ in range(8))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8, 8, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


class _ZeroBlocks:
    """Stands in for zipfile's deflate compressor when only 1 MB blocks of zeros are written: each
    becomes the same full-flushed raw deflate block (about 1 KB), so gigabytes cost no compression
    time. The stream stays valid: a full flush byte-aligns and forgets the window."""

    def __init__(self, block: bytes) -> None:
        co = zlib.compressobj(9, zlib.DEFLATED, -15)
        self._block = block
        self._packed = co.compress(block) + co.flush(zlib.Z_FULL_FLUSH)

    def compress(self, data: bytes) -> bytes:
        assert data == self._block
        return self._packed

    def flush(self) -> bytes:
        return b"\x03\x00"  # an empty final block


def write_zip_bomb(b: Bases, dst: Path, declared: int = BOMB_BYTES) -> None:
    """A .keras archive: the sample's real config.json, and a weights member of `declared` bytes of
    zeros (about 3 MB on disk; this process never holds more than 1 MB of it)."""
    with zipfile.ZipFile(b.keras) as src:
        config, metadata = src.read("config.json"), src.read("metadata.json")
    chunk = bytes(2**20)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("metadata.json", metadata)
        z.writestr("config.json", config)
        with z.open("model.weights.h5", "w", force_zip64=True) as f:
            f._compressor = _ZeroBlocks(chunk)  # zipfile still counts the size and the CRC itself
            for _ in range(declared // len(chunk)):
                f.write(chunk)


def keras_with_huge_input(b: Bases, dst: Path) -> None:
    """The sample with its input's height claimed as 2**31 in config.json (weights unchanged):
    building it would size the Dense kernel after Flatten from that height."""
    import json

    with zipfile.ZipFile(b.keras) as src:
        members = {i.filename: src.read(i.filename) for i in src.infolist()}
    config = json.loads(members["config.json"])
    text = json.dumps(config).replace("[null, 32, 32, 1]", f"[null, {HUGE}, 32, 1]")
    assert str(HUGE) in text
    members["config.json"] = text.encode()
    with zipfile.ZipFile(dst, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)


def onnx_huge(b: Bases, dst: Path) -> None:
    import onnx

    model = onnx.load(str(b.onnx))
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[2].ClearField("dim_param")
    dims[2].dim_value = HUGE
    onnx.save(model, str(dst))


def tflite_huge(b: Bases, dst: Path) -> None:
    """Patch the input tensor's height (16) in the flatbuffer to 2**31 - 1, in place."""
    from edgewizard.core.loaders.tflite_loader import schema

    data = bytearray(b.tflite.read_bytes())
    s = schema()
    sub = s.Model.GetRootAs(bytes(data), 0).Subgraphs(0)
    t = sub.Tensors(sub.Inputs(0))
    start = t._tab.Vector(t._tab.Offset(4))  # Tensor.shape is field 0 (vtable offset 4)
    assert struct.unpack_from("<i", data, start + 4)[0] == 16
    struct.pack_into("<i", data, start + 4, HUGE - 1)
    if t.ShapeSignatureLength():
        sig = t._tab.Vector(t._tab.Offset(18))  # shape_signature is field 7 (vtable offset 18)
        struct.pack_into("<i", data, sig + 4, HUGE - 1)
    dst.write_bytes(bytes(data))


def ir_huge(b: Bases, dst: Path) -> None:
    text = b.xml.read_text(encoding="utf-8")
    # The Parameter's shape is its data attribute ("?,16,16,3"); its port repeats it as <dim>s.
    head, sep, rest = text.partition('type="Parameter"')
    assert sep and 'shape="?,16,16,3"' in rest
    rest = rest.replace('shape="?,16,16,3"', f'shape="?,{HUGE},16,3"', 1).replace("<dim>16</dim>", f"<dim>{HUGE}</dim>", 1)
    dst.write_text(head + sep + rest, encoding="utf-8")
    shutil.copy(b.xml.with_suffix(".bin"), dst.with_suffix(".bin"))


def pb_huge(b: Bases, dst: Path) -> None:
    import tensorflow as tf

    gd = tf.compat.v1.GraphDef.FromString(b.pb.read_bytes())
    for n in gd.node:
        if n.op == "Placeholder":
            n.attr["shape"].shape.dim[1].size = HUGE
    dst.write_bytes(gd.SerializeToString())


def onnx_cycle(b: Bases, dst: Path) -> None:
    """x -> add (reads relu's output) -> relu (reads add's output): a loop with no Loop op."""
    from onnx import TensorProto, helper

    nodes = [
        helper.make_node("Add", ["x", "r"], ["a"], name="add_in_loop"),
        helper.make_node("Relu", ["a"], ["r"], name="relu_in_loop"),
        helper.make_node("Identity", ["r"], ["y"], name="out"),
    ]
    graph = helper.make_graph(nodes, "cycle", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    dst.write_bytes(model.SerializeToString())


def pb_cycle(b: Bases, dst: Path) -> None:
    """A GraphDef where add_in_loop reads relu_in_loop, which reads add_in_loop (no Enter/Merge)."""
    import tensorflow as tf

    with tf.Graph().as_default() as g:
        x = tf.compat.v1.placeholder(tf.float32, (1, 4), name="x")
        tf.identity(x, name="relu_in_loop")
        tf.add(x, x, name="add_in_loop")
    gd = g.as_graph_def()
    for n in gd.node:
        if n.name == "relu_in_loop":
            n.op = "Relu"
            n.input[:] = ["add_in_loop"]
        elif n.name == "add_in_loop":
            n.input[:] = ["x", "relu_in_loop"]
    out = gd.node.add()
    out.name, out.op = "out", "Identity"
    out.input.append("relu_in_loop")
    out.attr["T"].type = tf.float32.as_datatype_enum
    dst.write_bytes(gd.SerializeToString())




def from_bases(fn):
    """Adapt fn(src_bases, dst) builders to Spec.make(dst, bases)."""
    return lambda dst, b: fn(b, dst)


def random_bytes(dst: Path, b: Bases) -> None:
    dst.write_bytes(os.urandom(4096))


def empty_file(dst: Path, b: Bases) -> None:
    dst.write_bytes(b"")


def _sm_copy(b: Bases, dst: Path) -> None:
    shutil.copytree(b.savedmodel, dst)


def sm_truncated(dst: Path, b: Bases) -> None:
    _sm_copy(b, dst)
    truncate(b.savedmodel / "saved_model.pb", dst / "saved_model.pb")


def sm_corrupt(dst: Path, b: Bases) -> None:
    _sm_copy(b, dst)
    corrupt(b.savedmodel / "saved_model.pb", dst / "saved_model.pb")


def sm_garbage(dst: Path, b: Bases) -> None:
    _sm_copy(b, dst)
    (dst / "saved_model.pb").write_bytes(os.urandom(4096))


def sm_no_variables(dst: Path, b: Bases) -> None:
    _sm_copy(b, dst)
    shutil.rmtree(dst / "variables")


def sm_truncated_variables(dst: Path, b: Bases) -> None:
    _sm_copy(b, dst)
    data = next((b.savedmodel / "variables").glob("variables.data-*"))
    truncate(data, dst / "variables" / data.name, 0.3)


def meta_with(mutate):
    def make(dst: Path, b: Bases) -> None:
        _copy_meta(b, dst)
        if mutate:
            mutate(b.meta, dst)
    return make


def meta_truncated_data(dst: Path, b: Bases) -> None:
    _copy_meta(b, dst)
    data = next(dst.parent.glob(dst.with_suffix("").name + ".data-*"))
    data.write_bytes(data.read_bytes()[:100])


def ir_with(mutate_xml=None, mutate_bin=None, with_bin=True):
    def make(dst: Path, b: Bases) -> None:
        _ir_copy(b, dst, with_bin)
        if mutate_xml:
            mutate_xml(b.xml, dst)
        if mutate_bin:
            mutate_bin(b.xml.with_suffix(".bin"), dst.with_suffix(".bin"))
    return make


def lambda_layer_model(dst: Path, b: Bases) -> None:
    from tests.models import keras_models

    keras_models.with_lambda(dst)


def weights_only(dst: Path, b: Bases) -> None:
    from tests.models import keras_models

    tmp = dst.with_name("tmp.weights.h5")
    keras_models.weights_only(tmp)
    tmp.rename(dst)


def base_with(attr: str, how):
    return lambda dst, b: how(getattr(b, attr), dst)


def keras_corrupt(src: Path, dst: Path) -> None:
    """XOR bytes in the middle of config.json's stored data (Keras ignores a damaged metadata.json)."""
    with zipfile.ZipFile(src) as z:
        info = z.getinfo("config.json")
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra) + info.compress_size // 2
    corrupt(src, dst, start)
