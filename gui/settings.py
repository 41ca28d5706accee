"""Remembered settings (QSettings): recent models, last folders, window geometry, chosen targets."""
from __future__ import annotations

from typing import Optional

from PySide6.QtCore import QByteArray, QSettings

RECENT_MAX = 8


class Settings:
    def __init__(self, qsettings: Optional[QSettings] = None) -> None:
        self.q = qsettings or QSettings("EdgeWizard", "EdgeWizard")

    def _list(self, key: str) -> list[str]:
        value = self.q.value(key, [])
        if isinstance(value, str):
            return [value] if value else []
        return [str(v) for v in (value or [])]

    def recent_models(self) -> list[str]:
        return self._list("models/recent")

    def add_recent_model(self, path: str) -> None:
        items = [path] + [p for p in self.recent_models() if p != path]
        self.q.setValue("models/recent", items[:RECENT_MAX])

    def last_dir(self, kind: str) -> str:
        return str(self.q.value(f"dirs/{kind}", "") or "")

    def set_last_dir(self, kind: str, folder: str) -> None:
        self.q.setValue(f"dirs/{kind}", folder)

    def value(self, key: str, default=None):
        return self.q.value(key, default)

    def set_value(self, key: str, value) -> None:
        self.q.setValue(key, value)

    def runtime_python(self) -> str:
        """The interpreter chosen for the NCS2's OpenVINO 2022.3 ("" when none was chosen)."""
        return str(self.q.value("bench/runtime_python", "") or "")

    def set_runtime_python(self, path: str) -> None:
        self.q.setValue("bench/runtime_python", path)

    def runtime_archive(self) -> str:
        """Intel's unpacked OpenVINO 2022.3 folder last chosen for the NCS2 ("" when none was)."""
        return str(self.q.value("bench/runtime_archive", "") or "")

    def set_runtime_archive(self, folder: str) -> None:
        self.q.setValue("bench/runtime_archive", folder)

    def geometry(self) -> Optional[QByteArray]:
        g = self.q.value("window/geometry")
        return g if isinstance(g, QByteArray) else None

    def set_geometry(self, data: QByteArray) -> None:
        self.q.setValue("window/geometry", data)

    def sync(self) -> None:
        self.q.sync()
