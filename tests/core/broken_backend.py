"""Test-only backend module whose import fails for real (the package it needs does not exist), listed
among a registry's built-in modules by test_registries.py: one broken backend must leave the others."""
import edgewizard_no_such_module_for_tests  # noqa: F401  (the failure under test)
