"""The devices the agent knows, as data: per device its title, what to install for it and the USB ids
it shows as. The assembler writes the device catalogue's table (edgewizard.core.devices.agent_table())
in place of DEVICE_TABLE; in EdgeWizard's own process the package's __init__ loads it with use_table()."""

# Entries as the catalogue's agent_table() gives them; the agent reads "device" (as --device takes
# it), "title" (plain words), "install" (the words that follow "install") and "usb" ([{"id": "vvvv:pppp",
# "kind", "name"}]: how the accelerator shows on USB, and what the probe calls it: "coral", "ncs2", "ncs").
# ---- DEVICE TABLE: written in here by assemble.agent_source(device_table=...) ----
DEVICE_TABLE = []
# ---- end of the device table ----


def use_table(table):
    DEVICE_TABLE[:] = table


def device_entry(device):
    for entry in DEVICE_TABLE:
        if entry["device"] == device:
            return entry
    return {"device": device, "title": device}


def title(device):
    return device_entry(device)["title"]


def install_hint(device):
    return device_entry(device).get("install") or ""


def usb_ids(device):
    """'1a6e:089a or 18d1:9302': how the device's accelerator shows on USB."""
    return " or ".join(u["id"] for u in device_entry(device).get("usb") or ())


def usb_known():
    """{'18d1:9302': {'id': '18d1:9302', 'kind': 'coral', 'name': 'Coral USB Accelerator'}, ...}"""
    return dict((u["id"], u) for entry in DEVICE_TABLE for u in entry.get("usb") or ())
