"""EdgeWizard's pipeline: load, cut, convert, verify and benchmark models. Never imports Qt.

Heavy libraries (TensorFlow, OpenVINO, LiteRT) are imported inside the functions that need them,
which run in the worker process (see jobs.py)."""
