"""`python -m edgewizard.core.bench.agent_parts > agent.py`: the agent script, to run by hand elsewhere."""
import sys

from .assemble import agent_source

sys.stdout.write(agent_source())
