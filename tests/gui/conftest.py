"""Qt tests run offscreen; their `settings` and `window` fixtures are in tests/conftest.py."""
from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
