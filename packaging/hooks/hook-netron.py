"""Netron's web UI (HTML, JavaScript, metadata JSON) is served to the graph view from the package folder."""
from PyInstaller.utils.hooks import collect_data_files, copy_metadata

datas = collect_data_files("netron") + copy_metadata("netron")
