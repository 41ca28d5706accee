"""Test-wide setup: tests that convert in-process get the same telemetry block as the worker, and
long runs (marked `longrun`) run only in CI or when asked for."""
import os

import pytest

from edgewizard.core.privacy import block_vendor_telemetry

block_vendor_telemetry()


def pytest_collection_modifyitems(config, items):
    if os.environ.get("CI") or os.environ.get("EDGEWIZARD_LONG") == "1":
        return
    skip = pytest.mark.skip(reason="long run: takes minutes, so it runs in CI (CI=true) or with EDGEWIZARD_LONG=1")
    for item in items:
        if "longrun" in item.keywords:
            item.add_marker(skip)
