"""sub_range: a step's own 0..1 progress reported as part of a whole."""
from __future__ import annotations

from edgewizard.core.progress import no_progress, sub_range


def _recorder():
    seen = []
    return seen, lambda f, m: seen.append((f, m))


def test_maps_the_step_onto_its_part_of_the_whole():
    seen, outer = _recorder()
    step = sub_range(outer, 0.2, 0.6)
    step(0.0, "start")
    step(0.5, "half")
    step(1.0, "done")
    assert [m for _, m in seen] == ["start", "half", "done"]
    assert [round(f, 9) for f, _ in seen] == [0.2, 0.4, 0.6]


def test_figures_outside_zero_to_one_stay_inside_the_range():
    seen, outer = _recorder()
    step = sub_range(outer, 0.5, 0.75)
    step(-1.0, "before")
    step(3.0, "after")
    assert [f for f, _ in seen] == [0.5, 0.75]


def test_none_passes_through_by_default():
    seen, outer = _recorder()
    step = sub_range(outer, 0.1, 0.9)
    step(0.5, "figure")
    step(None, "a line of the tool's output")
    assert seen[-1] == (None, "a line of the tool's output")


def test_keep_last_repeats_the_last_figure_for_none():
    seen, outer = _recorder()
    step = sub_range(outer, 0.2, 0.4, keep_last=True)
    step(None, "busy before any figure")
    step(0.5, "half")
    step(None, "still busy")
    assert [(round(f, 9), m) for f, m in seen] == [
        (0.2, "busy before any figure"), (0.3, "half"), (0.3, "still busy")]


def test_prefix_names_the_step_in_every_message():
    seen, outer = _recorder()
    step = sub_range(outer, 0.0, 1.0, "Coral Edge TPU")
    step(0.5, "Running edgetpu_compiler")
    step(None, "Edge TPU Compiler version 16.0")
    assert [m for _, m in seen] == ["Coral Edge TPU: Running edgetpu_compiler",
                                    "Coral Edge TPU: Edge TPU Compiler version 16.0"]


def test_nested_ranges_compose():
    seen, outer = _recorder()
    inner = sub_range(sub_range(outer, 0.5, 1.0, "convert"), 0.0, 0.5, "load")
    inner(1.0, "Loaded")
    assert seen == [(0.75, "convert: load: Loaded")]


def test_no_progress_accepts_a_report_without_a_message():
    assert no_progress(0.5) is None and no_progress(None, "line") is None
