"""The bench agent, as EdgeWizard's own process sees it. The agent that runs elsewhere is ONE
standard-library script assembled from the modules in agent_parts/ (see agent_parts/__init__.py for
what each does, and base.py for protocol 1); launch.agent_source() gives its text. The names below
are those parts, for the host's use: checking a device name, listing USB accelerators, naming a
precision, reading the first useful line of a runtime's error."""
from .agent_parts.base import AGENT_VERSION, PRECISIONS, PROTOCOL, AgentError, _first_line, precision_name
from .agent_parts.usb import parse_device, usb_devices

__all__ = ["AGENT_VERSION", "PRECISIONS", "PROTOCOL", "AgentError", "_first_line", "parse_device", "precision_name",
           "usb_devices"]
