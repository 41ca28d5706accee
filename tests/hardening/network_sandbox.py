"""Runs network_flow.py under strace (every socket call of every process it starts) with its own Xvfb,
sampling `ss` while it runs; meant to be started inside `unshare -n` (only loopback), but records the
same without a namespace. Not collected by pytest: test_network.py starts it and reads what it wrote.

    network_sandbox.py OUT_DIR [--netns]     writes OUT_DIR/strace.log, ss.log, flow.out, sandbox.json"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TRACED = "socket,connect,bind,listen,sendto,sendmsg,sendmmsg,execve"
FLOW_TIMEOUT_S = 900
CHROMIUM_FLAGS = "--no-sandbox --disable-gpu"
# Environment variables by which OpenVINO's telemetry recognises a CI machine and stays silent on its own.
CI_MARKERS = ("CI", "TF_BUILD", "JENKINS_URL")


def start_xvfb() -> tuple[subprocess.Popen, str]:
    """Xvfb on a free display (it writes the number to a pipe), with no TCP listener."""
    read, write = os.pipe()
    proc = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x900x24", "-nolisten", "tcp"],
                            pass_fds=(write,), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as f:
        number = f.readline().strip()
    if not number.isdigit():
        proc.kill()
        raise RuntimeError("Xvfb did not start")
    return proc, f":{number}"


def descendants(root: int) -> set[int]:
    """The pids under `root` (from /proc), so `ss` lines can be kept to the traced processes."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


def sample_sockets(root: int, stop: threading.Event, lines: list[str], namespace: bool, counts: dict) -> None:
    """Every 0.25 s, TCP/UDP sockets (listening and connected) with their processes. Outside a
    namespace the host's own sockets are there too: keep only lines naming one of our pids."""
    while not stop.wait(0.25):
        text = subprocess.run(["ss", "-tuapnH"], capture_output=True, text=True).stdout
        counts["samples"] = counts.get("samples", 0) + 1
        ours = None if namespace else descendants(root)
        for line in text.splitlines():
            pids = {int(p) for p in re.findall(r"pid=(\d+)", line)}
            if line.strip() and (ours is None or pids & ours):
                lines.append(f"{time.monotonic():.2f} {line}")


def main(out: Path, namespace: bool) -> int:
    out.mkdir(parents=True, exist_ok=True)
    if namespace:
        subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    # A person who once said yes to OpenVINO's telemetry: without core/privacy.py it would send.
    home = out / "home"
    (home / "intel").mkdir(parents=True, exist_ok=True)
    (home / "intel" / "openvino_telemetry").write_text("1")
    xvfb, display = start_xvfb()
    env = dict(os.environ, DISPLAY=display, QT_QPA_PLATFORM="xcb", HOME=str(home),
               QTWEBENGINE_CHROMIUM_FLAGS=CHROMIUM_FLAGS, PYTHONUNBUFFERED="1")
    env.pop("WAYLAND_DISPLAY", None)
    for name in CI_MARKERS:  # OpenVINO's telemetry stays quiet on CI machines by itself: be a person's machine
        env.pop(name, None)
    argv = ["strace", "-f", "--seccomp-bpf", "-qq", "-e", "signal=none", "-Y", "-yy", "-s", "64", "-e", f"trace={TRACED}",
            "-o", str(out / "strace.log"), "--", sys.executable, str(HERE / "network_flow.py"), str(out / "flow")]
    started = time.monotonic()
    lines: list[str] = []
    counts: dict = {}
    stop = threading.Event()
    with open(out / "flow.out", "wb") as log:
        proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=str(out))
        sampler = threading.Thread(target=sample_sockets, args=(proc.pid, stop, lines, namespace, counts), daemon=True)
        sampler.start()
        try:
            code = proc.wait(FLOW_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            code = -9
        stop.set()
        sampler.join(10)
    xvfb.terminate()
    xvfb.wait(10)
    (out / "ss.log").write_text("\n".join(lines) + "\n")
    (out / "sandbox.json").write_text(json.dumps({"exit": code, "seconds": round(time.monotonic() - started, 1),
                                                  "namespace": namespace, "display": display,
                                                  "ss_samples": counts.get("samples", 0)}))
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), "--netns" in sys.argv[2:]))
