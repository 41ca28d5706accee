"""Cancelling a conversion through the worker leaves no half-written file, and the next job works."""
from __future__ import annotations


import pytest

from edgewizard.core.calibrate import CalibrationSpec
from edgewizard.core.convert.base import ConvertOptions
from edgewizard.core.convert.run import STAGING_PREFIX, remove_partials
from edgewizard.core.manifest import read_manifest
from edgewizard.core.errors import Cancelled
from edgewizard.core.jobs import JobRunner, Progress
from edgewizard.core.plan import LoadOptions, Selection
from edgewizard.core.samples import sample_calibration_path, sample_model_path

TARGETS = ["tflite-float", "tflite-int8", "openvino-fp16"]
OPTIONS = ConvertOptions(calibration=CalibrationSpec(sources=((None, str(sample_calibration_path())),)))


def _submit(runner, out):
    return runner.submit("edgewizard.core.convert.run:convert", str(sample_model_path()), LoadOptions(), Selection(),
                         TARGETS, str(out), OPTIONS)


@pytest.mark.parametrize("stop_at", ["Cutting", "tflite-int8:", "openvino-fp16:"])
def test_cancel_at_several_points(tmp_path, stop_at):
    out = tmp_path / "out"
    with JobRunner() as runner:
        job = _submit(runner, out)
        with pytest.raises(Cancelled):
            for event in job.events():
                if isinstance(event, Progress) and stop_at in event.message:
                    job.cancel()
            job.result()
        remove_partials(out)  # what the CLI and GUI do after a failed or cancelled job
        left = {p.name for p in out.iterdir()} if out.exists() else set()
        assert not any(n.startswith(STAGING_PREFIX) for n in left)
        if left:
            listed = read_manifest(out).file_names()
            assert left == listed | {"manifest.json"}  # only finished, recorded files remain
        # The next job works, in a fresh worker.
        manifest = _submit(runner, tmp_path / "again").result()
        assert [a.target for a in manifest.artifacts] == TARGETS
