"""Conversion targets, one module each, behind a small Protocol and a registry."""
