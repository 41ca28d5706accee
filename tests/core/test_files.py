"""Atomic writes (used for cut graphs, manifests, verify.json, reports) and sizes in words."""
from __future__ import annotations

import os

import pytest

from edgewizard.core.files import human_bytes, write_atomic


def test_a_failed_check_leaves_no_file_and_a_passing_one_lands(tmp_path):
    target = tmp_path / "cut.pb"

    def refuse(tmp):
        assert tmp.read_bytes() == b"graph" and tmp.parent == tmp_path
        raise RuntimeError("does not match")

    with pytest.raises(RuntimeError):
        write_atomic(target, b"graph", refuse)
    assert list(tmp_path.iterdir()) == []
    write_atomic(target, b"graph", lambda tmp: None)
    assert [p.name for p in tmp_path.iterdir()] == ["cut.pb"] and target.read_bytes() == b"graph"


def test_replacing_keeps_the_old_file_until_the_new_one_is_whole(tmp_path):
    target = tmp_path / "manifest.json"
    target.write_text("old")
    with pytest.raises(ValueError):
        write_atomic(target, "new", lambda tmp: (_ for _ in ()).throw(ValueError("bad")))
    assert target.read_text() == "old"
    write_atomic(target, "new 新")
    assert target.read_text(encoding="utf-8") == "new 新"


def test_files_get_the_umask(tmp_path):
    old = os.umask(0o027)
    try:
        p = write_atomic(tmp_path / "x.bin", b"1")
    finally:
        os.umask(old)
    assert p.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize("n,text", [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"), (5 * 2**20, "5.0 MB"),
                                    (3 * 2**40, "3072.0 GB"), (None, ""), ("12", "")])
def test_human_bytes(n, text):
    assert human_bytes(n) == text
