"""The Qt binding must not leak references to Python's singletons: PySide6 6.12.0 dropped one
reference to True/False per emit() and to None per slot call, which on Python 3.11 aborts the app
after a few thousand signals (a live benchmark plot makes that many in seconds)."""
from __future__ import annotations

import sys


def test_signals_and_slots_keep_the_refcounts_of_none_true_and_false(qapp):
    from PySide6.QtCore import QObject, Signal

    class Emitter(QObject):
        value = Signal(float)

    e = Emitter()
    calls = []
    e.value.connect(lambda v: calls.append(v))  # list.append returns None: a slot returning None
    before = [sys.getrefcount(x) for x in (None, True, False)]
    for _ in range(200):
        e.value.emit(1.5)
    after = [sys.getrefcount(x) for x in (None, True, False)]
    assert len(calls) == 200
    # Other threads may take or drop a few references meanwhile; a leak is one per call, 200 here.
    assert all(abs(a - b) < 50 for a, b in zip(after, before)), (before, after)
