"""Hardening suite (issue 10): hostile inputs, faults, security and long runs."""
