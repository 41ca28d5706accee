"""Renders edgewizard.svg to the PNG sizes and the Windows .ico the installers use (run after changing the SVG):
    QT_QPA_PLATFORM=offscreen .venv/bin/python packaging/icons/render_icon.py"""
import sys
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication, QImage, QPainter
from PySide6.QtSvg import QSvgRenderer

HERE = Path(__file__).resolve().parent
SIZES = {"edgewizard.png": 256, "edgewizard-48.png": 48}


def main() -> int:
    app = QGuiApplication(sys.argv[:1])  # noqa: F841 - QSvgRenderer needs a GUI application
    renderer = QSvgRenderer(str(HERE / "edgewizard.svg"))
    if not renderer.isValid():
        print("render_icon: edgewizard.svg is not valid SVG", file=sys.stderr)
        return 1
    for name, size in SIZES.items():
        image = QImage(size, size, QImage.Format_ARGB32)
        image.fill(Qt.transparent)
        painter = QPainter(image)
        renderer.render(painter)
        painter.end()
        image.save(str(HERE / name))
    # Inno Setup wants an .ico for the installer itself; Pillow writes one with every usual size.
    from PIL import Image

    Image.open(HERE / "edgewizard.png").save(HERE / "edgewizard.ico", sizes=[(16, 16), (24, 24), (32, 32), (48, 48), (64, 64), (128, 128), (256, 256)])
    return 0


if __name__ == "__main__":
    sys.exit(main())
