"""Which packages and data files the edgewizard distribution installs; everything else is in pyproject.toml.

The repository keeps core/, gui/ and resources/ at its top level; they install as edgewizard.core,
edgewizard.gui and edgewizard.resources ("edgewizard" is a namespace package, so no bare "core" or "gui"
lands in site-packages). pyproject.toml's package discovery cannot add that prefix, so it is done here:
every subpackage is found, never listed (a hand-written list once left gui.pages out of the wheel).
tests/test_packaging.py compares the wheel with the source tree."""
from setuptools import find_namespace_packages, find_packages, setup

ROOTS = {"edgewizard.core": "core", "edgewizard.gui": "gui", "edgewizard.resources": "resources"}
# resources/ is data: a folder of it needs no __init__.py (resources/errors/ has none).
DATA_KINDS = ["*.toml", "*.json", "*.js", "*.html", "*.css", "*.md", "*.txt", "*.keras", "*.npz",
              "*.png", "*.svg", "*.ico"]
NOT_PACKAGES = ["__pycache__", "*.__pycache__"]


def packages(name: str, folder: str) -> list[str]:
    find = find_namespace_packages if name == "edgewizard.resources" else find_packages
    return [name] + [f"{name}.{sub}" for sub in find(where=folder, exclude=NOT_PACKAGES)]


PACKAGES = [p for name, folder in ROOTS.items() for p in packages(name, folder)]

setup(
    package_dir=ROOTS,
    packages=PACKAGES,
    package_data={p: DATA_KINDS for p in PACKAGES if p.startswith("edgewizard.resources")},
)
