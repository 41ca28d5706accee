"""A throwaway OpenSSH server on 127.0.0.1 for the bench-over-ssh tests: temporary host and client
keys from ssh-keygen, the current user, and an ssh config file naming it as host "ewbench"."""
from __future__ import annotations

import getpass
import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

SSHD = "/usr/sbin/sshd"
HOST_ALIAS = "ewbench"


@dataclass
class TestServer:
    proc: subprocess.Popen
    port: int
    ssh_config: Path
    log: Path

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _keygen(path: Path) -> None:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "edgewizard-test", "-f", str(path)], check=True)


def start(folder: Path) -> tuple[Optional[TestServer], str]:
    """(server, "") or (None, why it cannot start)."""
    if not os.path.exists(SSHD) or shutil.which("ssh") is None or shutil.which("ssh-keygen") is None:
        return None, "OpenSSH server/client not installed (Debian: openssh-server, openssh-client)"
    if os.geteuid() == 0 and not os.path.isdir("/run/sshd"):
        try:  # sshd running as root insists on its privilege-separation folder (systemd normally makes it)
            os.makedirs("/run/sshd", mode=0o755, exist_ok=True)
        except OSError as exc:
            return None, f"sshd needs /run/sshd and it cannot be created: {exc}"
    folder.mkdir(parents=True, exist_ok=True)
    host_key, client_key = folder / "host_ed25519", folder / "client_ed25519"
    _keygen(host_key)
    _keygen(client_key)
    (folder / "authorized_keys").write_text(client_key.with_suffix(".pub").read_text())
    port = _free_port()
    config = folder / "sshd_config"
    lines = [
        f"Port {port}", "ListenAddress 127.0.0.1", f"HostKey {host_key}", f"PidFile {folder / 'sshd.pid'}",
        f"AuthorizedKeysFile {folder / 'authorized_keys'}", "PubkeyAuthentication yes", "PasswordAuthentication no",
        "KbdInteractiveAuthentication no", "UsePAM no", "StrictModes no",  # the key lives under /tmp, which is world-writable
        "PermitRootLogin prohibit-password" if os.geteuid() == 0 else "PermitRootLogin no",
    ]
    config.write_text("\n".join(lines) + "\n")
    (folder / "known_hosts").write_text(f"[127.0.0.1]:{port} {host_key.with_suffix('.pub').read_text()}")
    ssh_config = folder / "ssh_config"
    ssh_config.write_text("\n".join([
        f"Host {HOST_ALIAS}", "  HostName 127.0.0.1", f"  Port {port}", f"  User {getpass.getuser()}",
        f"  IdentityFile {client_key}", "  IdentitiesOnly yes", f"  UserKnownHostsFile {folder / 'known_hosts'}",
        "  GlobalKnownHostsFile /dev/null", "  StrictHostKeyChecking yes", "  LogLevel ERROR",
    ]) + "\n")
    log = folder / "sshd.log"
    with open(log, "wb") as log_file:  # sshd keeps its own copy of the descriptor
        proc = subprocess.Popen([SSHD, "-D", "-e", "-f", str(config)], stdout=subprocess.DEVNULL, stderr=log_file)
    server = TestServer(proc, port, ssh_config, log)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return None, f"sshd exited at start: {log.read_text(errors='replace').strip()[-300:]}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                break
        except OSError:
            time.sleep(0.1)
    else:
        server.stop()
        return None, "sshd did not listen within 15 s"
    probe = subprocess.run(["ssh", "-F", str(ssh_config), "-o", "BatchMode=yes", HOST_ALIAS, "true"],
                           capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        server.stop()
        return None, f"ssh login to the test sshd failed: {probe.stderr.strip()[-300:]} / {log.read_text(errors='replace')[-300:]}"
    return server, ""
