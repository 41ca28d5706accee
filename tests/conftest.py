"""Test-wide setup: tests that convert in-process get the same telemetry block as the worker."""
from edgewizard.core.privacy import block_vendor_telemetry

block_vendor_telemetry()
