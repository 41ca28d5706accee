"""The figures that compare an artifact's outputs with the original's, and the flags they raise.

All take arrays of shape (samples, *one sample's output) in float32; definitions are in the docs
of each field of results.OutputCheck."""
from __future__ import annotations

from typing import Optional

from .results import Flag, Histogram, OutputCheck, Thresholds, WorstSample

HISTOGRAM_BINS = 30
WORST = 8  # worst samples kept per output
THUMB = 64  # longest side of a worst sample's image, in pixels


def is_classifier(sample_shape: tuple) -> bool:
    """One score per class: a last axis longer than 1 and nothing else (the batch axis is gone)."""
    import numpy as np

    return len(sample_shape) >= 1 and sample_shape[-1] > 1 and int(np.prod(sample_shape[:-1])) == 1


def labelled_output(ref_outputs: list, labels) -> Optional[int]:
    """Which output the labels belong to: the first classifier with a score for every label."""
    if labels is None:
        return None
    top = int(labels.max()) if len(labels) else 0
    for i, r in enumerate(ref_outputs):
        if is_classifier(r.shape[1:]) and r.shape[-1] > top:
            return i
    return None


def compare(name: str, ref, got, labels=None, images=None) -> OutputCheck:
    """Figures for one output. `labels` only for the labelled output; `images` (samples, ...) of the
    first input when it is an image, for the worst samples' thumbnails."""
    import numpy as np

    r = ref.reshape(len(ref), -1).astype(np.float64)
    g = got.reshape(len(got), -1).astype(np.float64)
    err = np.abs(g - r)
    per_sample = err.mean(axis=1)
    cos = _cosine(r, g)
    top = float(err.max()) if err.size else 0.0
    counts, edges = np.histogram(err, bins=HISTOGRAM_BINS, range=(0.0, top if top > 0 else 1.0))
    check = OutputCheck(
        name=name,
        shape=[int(d) for d in ref.shape[1:]],
        max_abs_error=top,
        mean_abs_error=float(err.mean()) if err.size else 0.0,
        cosine=float(cos.mean()),
        cosine_min=float(cos.min()),
        reference_range=[float(r.min()), float(r.max())],
        classifier=is_classifier(ref.shape[1:]),
        histogram=Histogram(edges=[float(e) for e in edges], counts=[int(c) for c in counts]),
    )
    order = np.argsort(-per_sample, kind="stable")
    if check.classifier:
        ref_top, got_top = r.argmax(1), g.argmax(1)
        agree = ref_top == got_top
        check.top1_agreement = float(agree.mean())
        check.disagreements = int((~agree).sum())
        order = np.lexsort((-per_sample, agree))  # disagreements first, then by error
        if labels is not None:
            check.accuracy_original = float((ref_top == labels).mean())
            check.accuracy_artifact = float((got_top == labels).mean())
            check.accuracy_drop = check.accuracy_original - check.accuracy_artifact
    for i in order[:WORST]:
        w = WorstSample(index=int(i), error=float(per_sample[i]))
        if check.classifier:
            w.original_top1, w.artifact_top1 = int(ref_top[i]), int(got_top[i])
            w.original_score, w.artifact_score = float(r[i, ref_top[i]]), float(g[i, got_top[i]])
        if labels is not None:
            w.label = int(labels[i])
        if images is not None:
            w.image = thumbnail(images, int(i))
        check.worst.append(w)
    return check


def _cosine(r, g):
    import numpy as np

    nr, ng = np.linalg.norm(r, axis=1), np.linalg.norm(g, axis=1)
    dot = (r * g).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = dot / (nr * ng)
    # Two all-zero outputs are the same output; one all-zero output is as different as can be.
    cos = np.where((nr == 0) & (ng == 0), 1.0, np.where((nr == 0) | (ng == 0), 0.0, cos))
    return np.clip(cos, -1.0, 1.0)


def image_layout(shape: tuple) -> Optional[str]:
    """"NHWC" or "NCHW" when an input of this shape (with batch) looks like an image, else None."""
    if len(shape) != 4:
        return None
    if shape[3] in (1, 3) and min(shape[1], shape[2]) >= 8:
        return "NHWC"
    if shape[1] in (1, 3) and min(shape[2], shape[3]) >= 8:
        return "NCHW"
    return None


def thumbnail(images, index: int) -> Optional[str]:
    """A small PNG (data: URI) of one sample, scaled to the data's own value range."""
    import base64
    import io

    import numpy as np
    from PIL import Image

    layout = image_layout((1, *images.shape[1:]))
    if layout is None:
        return None
    x = images[index].astype(np.float32)
    if layout == "NCHW":
        x = np.transpose(x, (1, 2, 0))
    lo, hi = float(np.min(images)), float(np.max(images))
    x = np.clip((x - lo) / (hi - lo if hi > lo else 1.0), 0, 1)
    pixels = (x * 255 + 0.5).astype(np.uint8)
    im = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
    if max(im.size) > THUMB:
        im.thumbnail((THUMB, THUMB), Image.BILINEAR)
    buf = io.BytesIO()
    im.save(buf, format="PNG", optimize=True)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def clipped_share(values, info: dict) -> float:
    """Share of input values outside what a quantized input can represent (by more than half a step)."""
    import numpy as np

    if "range" not in info or values.dtype.kind != "f" or not values.size:
        return 0.0
    lo, hi = info["range"]
    half = info["scale"] / 2
    return float(np.mean((values < lo - half) | (values > hi + half)))


def remedies(precision: str) -> list[str]:
    if "int8" in precision and "dynamic" not in precision:
        return [
            "Check that the calibration data is preprocessed exactly like the inputs (same scaling, e.g. [0, 1] "
            "versus [0, 255], same colour order).",
            "Calibrate with more samples (a few hundred) that look like the data the model will see: every class, "
            "real conditions.",
            "Find the layers that lose most and keep just those in float, or give an accuracy budget and let "
            "EdgeWizard choose them; tflite-dynamic or tflite-fp16 keep every layer in float.",
            "Quantization-aware training (TensorFlow Model Optimization) gives int8 models that keep float accuracy.",
        ]
    if "dynamic" in precision:
        return [
            "Keep the sensitive layers in float: try tflite-fp16 or tflite-float.",
            "Quantization-aware training gives quantized models that keep float accuracy.",
        ]
    if "16" in precision:
        return ["Use the float32 model (tflite-float or openvino-fp32): some models lose too much precision in float16."]
    return [
        "A float32 conversion should match the original closely; check with real inputs rather than random ones, "
        "and report it to EdgeWizard's authors if it persists.",
    ]


def flags(precision: str, outputs: list[OutputCheck], inputs: list[dict], clipped: dict, t: Thresholds,
          random_data: bool) -> list[Flag]:
    found: list[Flag] = []
    fix = remedies(precision)
    caveat = " (on random inputs: check with real data before acting on it)" if random_data else ""
    for info in inputs:
        share = clipped.get(info["name"], 0.0)
        if share > t.max_clipped_inputs:
            lo, hi = info["range"]
            found.append(Flag(
                output=None, kind="input_clipped", value=share, threshold=t.max_clipped_inputs,
                message=f"{share:.0%} of the values fed to input '{info['name']}' fall outside the range its int8 "
                f"quantization can hold ({lo:.4g} to {hi:.4g}) and are clipped: the calibration data was probably "
                "scaled differently from these inputs.",
                remedies=fix,
            ))
    for o in outputs:
        if o.top1_agreement is not None and o.top1_agreement < t.min_top1_agreement:
            found.append(Flag(
                output=o.name, kind="top1_agreement", value=o.top1_agreement, threshold=t.min_top1_agreement,
                message=f"Output '{o.name}' picks the same top class as the original for only {o.top1_agreement:.1%} "
                f"of the samples ({o.disagreements} differ; the threshold is {t.min_top1_agreement:.0%}){caveat}.",
                remedies=fix,
            ))
        if o.cosine < t.min_cosine:
            found.append(Flag(
                output=o.name, kind="cosine", value=o.cosine, threshold=t.min_cosine,
                message=f"Output '{o.name}' differs from the original's: cosine similarity {o.cosine:.4f}, where 1 "
                f"means the same direction and the threshold is {t.min_cosine:g}{caveat}.",
                remedies=fix,
            ))
        if t.max_accuracy_drop is not None and o.accuracy_drop is not None and o.accuracy_drop > t.max_accuracy_drop:
            found.append(Flag(
                output=o.name, kind="accuracy_drop", value=o.accuracy_drop, threshold=t.max_accuracy_drop,
                message=f"Accuracy falls from {o.accuracy_original:.1%} to {o.accuracy_artifact:.1%} "
                f"({100 * o.accuracy_drop:.1f} points; at most {100 * t.max_accuracy_drop:g} allowed).",
                remedies=fix,
            ))
    return found
