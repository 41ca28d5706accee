"""The Benchmark step and `edgewizard bench` with a person's mistakes: an ssh host that is not one
(refused on the page, nothing started), "ssh" chosen with no host (a warning, not a quiet local run),
and the --csv file on a full disk (exit 2 in one sentence, after the figures were printed)."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import pytest  # noqa: E402

from tests.models.bench_models import tiny_tflite  # noqa: E402

from .cli_run import cli_error, ew, one_sentence  # noqa: E402
from .disks import CANNOT_MOUNT, can_mount, fill, tmpfs  # noqa: E402


@pytest.fixture
def page(window):
    return window.page("Benchmark")


def choose_ssh(page, host: str) -> None:
    page.where_kind.setCurrentIndex(page.where_kind.findData("ssh"))
    page.where_text.setText(host)


@pytest.mark.parametrize("host", ["-oProxyCommand=touch PWNED", "pi@raspberrypi;touch PWNED", "$(touch PWNED)@pi"])
def test_a_hostile_ssh_host_is_refused_on_the_page_and_nothing_starts(page, host, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    choose_ssh(page, host)
    page.start_button.click()  # an exception out of this slot would end the test with it
    assert page.banner.text.endswith("is not an ssh host name: give HOST or USER@HOST as in your ssh config "
                                     "(put a port or other options in ~/.ssh/config).")
    assert page.active is None and page.runs == [] and not (tmp_path / "PWNED").exists()


def test_ssh_without_a_host_warns_instead_of_running_here(page):
    choose_ssh(page, "  ")
    page.start_button.click()
    assert page.banner.text == "Give the ssh host (as in your ssh config, e.g. pi@raspberrypi)."
    assert page.active is None and page.runs == []


@pytest.mark.skipif(not can_mount(), reason=CANNOT_MOUNT)
def test_bench_csv_on_a_full_disk_is_one_sentence_after_the_figures(tmp_path):
    model = tiny_tflite(tmp_path / "tiny.tflite")
    with tmpfs(tmp_path / "disk", size="64k") as disk:
        fill(disk)
        csv = disk / "samples.csv"
        done = ew("bench", model, "--device", "tflite:CPU", "-n", "200", "--warmup", "2", "--csv", csv)
        line = cli_error(done, 2)
        assert line == f"edgewizard: No space left on the disk holding {disk}; free some space or choose another output folder."
        one_sentence(line, disk)
        assert "median" in done.stdout.lower()  # the figures were shown before the write failed
        assert not csv.exists() and not [p for p in disk.iterdir() if p.name != "filler.bin"]
