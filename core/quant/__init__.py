"""The quantization doctor: which layers lose accuracy in int8 (layers.py), keeping chosen layers in float
(keep_float.py, used by the int8 targets), and fitting int8 to an accuracy budget (budget.py). The result
types every part shares, and the GUI shows, are in results.py."""
