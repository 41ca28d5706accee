"""Benchmarking converted models on the devices at hand: the bench agent (agent_parts/, assembled into one script), how it is
started (launch.py) and read (runner.py, protocol.py), the statistics (result.py), discovery (devices.py)."""
