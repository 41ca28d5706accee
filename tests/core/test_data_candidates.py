"""Data found next to a model (core/data_candidates.py): what is found, how it is described and ranked,
and that the look stays small (two folders deep, capped in entries and time, never through a home folder)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from edgewizard.core import data_candidates
from edgewizard.core.data_candidates import find_candidates

IMAGE_INPUT = [("pixels", (None, 32, 32, 1))]


def images(folder: Path, n: int, suffix: str = ".png") -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"img{i:04d}{suffix}").write_bytes(b"")  # only the names are looked at


@pytest.fixture
def project(tmp_path) -> Path:
    """project/model/ holds the model and data beside it; project/data/ is a folder beside the model's."""
    here = tmp_path / "project" / "model"
    here.mkdir(parents=True)
    (here / "digits.keras").write_bytes(b"not read")
    (here / "notes.txt").write_text("not data")
    images(here / "calib_images", 4)
    images(here / "val" / "cat", 3)
    images(here / "val" / "dog", 2, ".JPG")
    np.savez(here / "labelled.npz", x=np.zeros((20, 32, 32, 1), np.float32), y=np.arange(20))
    np.savez(here / "wrong_shape.npz", x=np.zeros((7, 28, 28), np.float32))
    np.save(here / "plain.npy", np.zeros((5, 32, 32, 1), np.uint8))
    np.save(here / "pickled.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    images(tmp_path / "project" / "data" / "test" / "0", 2)  # two folders away: found, labelled
    images(tmp_path / "project" / "data" / "test" / "1", 2)
    images(here / "a" / "b" / "c" / "too_deep", 3)  # beyond the levels looked at
    return here / "digits.keras"


def by_name(found) -> dict:
    return {c.path.name: c for c in found}


def test_finds_image_folders_and_arrays_and_describes_them(project):
    found = by_name(find_candidates(project, IMAGE_INPUT))
    assert set(found) == {"labelled.npz", "plain.npy", "wrong_shape.npz", "val", "calib_images", "test"}
    assert found["val"].kind == "labelled-images" and found["val"].labelled
    assert found["val"].description == "5 images in 2 labelled folders" and found["val"].samples == 5
    assert found["calib_images"].description == "4 images, no labels" and not found["calib_images"].labelled
    assert found["test"].description == "4 images in 2 labelled folders" and found["test"].depth == 3
    assert found["labelled.npz"].description == "x: 20×32×32×1 float32, y: 20 labels"
    assert found["labelled.npz"].fits and found["labelled.npz"].fit_note == "fits the model's input (32×32×1 per sample)"
    assert found["plain.npy"].description == "5×32×32×1 uint8" and found["plain.npy"].fits
    assert found["wrong_shape.npz"].fits is False
    assert found["wrong_shape.npz"].fit_note == "the model takes 32×32×1 per sample"
    assert found["val"].fits is None and found["val"].fit_note == "resized to the model's input"
    assert found["val"].label == "val — 5 images in 2 labelled folders"


def test_matching_arrays_first_then_labelled_folders_by_what_their_names_say(project):
    names = [c.path.name for c in find_candidates(project, IMAGE_INPUT, "verify")]
    assert names == ["labelled.npz", "plain.npy", "test", "val", "calib_images", "wrong_shape.npz"]
    names = [c.path.name for c in find_candidates(project, IMAGE_INPUT, "calibration")]
    assert names == ["labelled.npz", "plain.npy", "calib_images", "val", "test", "wrong_shape.npz"]


def test_without_a_known_input_nothing_is_said_to_fit(project):
    found = find_candidates(project)
    assert len(found) == 6 and {c.fits for c in found} == {None} and {c.fit_note for c in found} == {""}


def test_images_do_not_fit_a_model_that_takes_no_images(project):
    found = by_name(find_candidates(project, [("features", (None, 10))]))
    assert found["val"].fits is False and "is not an image" in found["val"].fit_note
    assert found["labelled.npz"].fits is False and found["labelled.npz"].fit_note == "the model takes 10 per sample"


def test_arrays_are_matched_by_input_name_for_several_inputs(tmp_path):
    folder = tmp_path / "p"  # the look also reads the folder above: keep it ours, not pytest's shared one
    folder.mkdir()
    (folder / "m.onnx").write_bytes(b"")
    np.savez(folder / "pair.npz", a=np.zeros((3, 4), np.float32), b=np.zeros((3, 2), np.float32))
    np.savez(folder / "half.npz", a=np.zeros((3, 4), np.float32))
    found = by_name(find_candidates(folder / "m.onnx", [("a", (1, 4)), ("b", (1, 2))]))
    assert found["pair.npz"].fits and found["pair.npz"].fit_note == "fits the model's input (4; 2 per sample)"
    assert found["half.npz"].fits is False and found["half.npz"].fit_note == "no array named after the input 'b'"


def test_the_look_is_capped_in_entries_per_folder_and_in_time(tmp_path, monkeypatch):
    model = tmp_path / "m" / "model.tflite"
    model.parent.mkdir()
    model.write_bytes(b"")
    images(model.parent / "many", 30)
    monkeypatch.setattr(data_candidates, "MAX_PER_FOLDER", 10)
    (found,) = find_candidates(model)
    assert found.description == "at least 10 images, no labels" and found.samples is None
    # A budget of a few entries in all: what was seen so far, never more.
    assert len(find_candidates(model, max_entries=3)) <= 1
    assert find_candidates(model, max_seconds=0) == []
    np.savez(model.parent / "extra.npz", x=np.zeros((2, 3)))
    assert len(find_candidates(model, limit=1)) == 1


def test_a_model_in_the_home_folder_does_not_make_it_walk_the_home_folder(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setattr(Path, "home", classmethod(lambda cls: home))
    images(home / "Pictures" / "holiday", 5)  # a person's own pictures: never offered
    images(home / "Downloads" / "cats" / "a", 2)
    images(home / "Downloads" / "cats" / "b", 2)
    images(home / "dataset" / "x", 2)
    images(home / "dataset" / "y", 2)
    (home / "model.h5").write_bytes(b"")
    assert [c.path.name for c in find_candidates(home / "model.h5")] == ["dataset"]
    # One level down the folder above is the home folder: it is not looked through either.
    (home / "models").mkdir()
    (home / "models" / "model.h5").write_bytes(b"")
    assert find_candidates(home / "models" / "model.h5") == []


def test_a_savedmodel_folder_is_not_taken_for_data(tmp_path):
    saved = tmp_path / "exported" / "saved_model"
    (saved / "variables").mkdir(parents=True)
    (saved / "saved_model.pb").write_bytes(b"")
    images(saved / "assets", 2)
    images(tmp_path / "exported" / "calibration", 3)
    names = [c.path.name for c in find_candidates(saved, IMAGE_INPUT)]
    assert names == ["calibration"]
