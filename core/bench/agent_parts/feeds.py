"""The inputs fed to the model: one random array per input, or the samples of a .npy/.npz file cut
to the model's shapes (and quantized when the model takes integers), cycled through while measuring."""
import os

from .base import AgentError


def input_feeds(np, session, data_path):
    """Per model input, a list of arrays to cycle through: one random array, or the samples of a file."""
    rng = np.random.RandomState(0)
    if data_path is None:
        feeds = []
        for spec in session.inputs:
            dtype = np.dtype(spec["dtype"])
            if dtype.kind in "iu":
                info = np.iinfo(dtype)
                feeds.append([rng.randint(max(info.min, -128), min(info.max, 255) + 1, size=spec["shape"]).astype(dtype)])
            else:
                feeds.append([rng.uniform(0.0, 1.0, size=spec["shape"]).astype(dtype)])
        return feeds
    loaded = None
    try:
        loaded = np.load(data_path, allow_pickle=False)
        # A .npz reads its arrays here: an object (pickled) array fails now, never unpickled.
        arrays = [loaded[k] for k in loaded.files] if hasattr(loaded, "files") else [loaded]
    except Exception as exc:
        if hasattr(loaded, "close"):
            loaded.close()
        raise AgentError("user", "The input data %s does not load as .npy/.npz: %s" % (os.path.basename(data_path), exc))
    names = list(loaded.files) if hasattr(loaded, "files") else []
    if hasattr(loaded, "close"):  # a .npz: its arrays are read, the archive can go
        loaded.close()
    feeds = []
    for i, spec in enumerate(session.inputs):
        if spec["name"] in names:
            array = arrays[names.index(spec["name"])]
        elif i < len(arrays):
            array = arrays[i]
        else:
            raise AgentError("user", "The input data has %d array(s) but the model has %d inputs." % (len(arrays), len(session.inputs)))
        feeds.append(_samples(np, array, spec))
    return feeds


def _samples(np, array, spec):
    shape, dtype = tuple(spec["shape"]), np.dtype(spec["dtype"])
    if array.shape == shape:
        chunks = [array]
    elif array.ndim == len(shape) and array.shape[1:] == shape[1:] and shape and array.shape[0] >= shape[0] > 0:
        chunks = [array[k:k + shape[0]] for k in range(0, array.shape[0] - shape[0] + 1, shape[0])]
    else:
        raise AgentError("user", "The input data for %s has shape %s; the model needs %s (or N samples of it)." % (
            spec["name"], list(array.shape), list(shape)))
    scale, zero = (spec.get("quantization") or [0.0, 0])[:2]
    out = []
    for chunk in chunks:
        if dtype.kind in "iu" and chunk.dtype.kind == "f" and scale > 0:
            info = np.iinfo(dtype)
            chunk = np.clip(np.round(chunk / scale + zero), info.min, info.max)
        out.append(np.ascontiguousarray(chunk.astype(dtype)))
    return out
