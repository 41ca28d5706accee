"""Device validation: will this model run on my stick, and which part of it? Per-node verdicts for
the Edge TPU, the NCS2 (MYRIAD), OpenVINO devices and TFLite on the CPU, before converting.

The job function is `edgewizard.core.validate.run:validate`; the registry of devices is in base.py."""
