"""deploy/update-over-ssh, the deploy workflow's one step, against a real sshd
on loopback: it updates the checkout on the "server" and refuses what it must."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from harness.waiting import free_port, wait_for

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy/update-over-ssh"
SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


@dataclass
class Server:
    port: int
    user: str
    client_key: str
    known_hosts: str


def keypair(path: Path) -> tuple[str, str]:
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(path)], check=True)
    return path.read_text(), path.with_suffix(".pub").read_text()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if not (os.path.exists(SSHD) and shutil.which("ssh") and shutil.which("ssh-keygen")):
        pytest.skip("OpenSSH is not installed (apt-get install openssh-server openssh-client)")
    if os.geteuid() != 0:
        pytest.skip("sshd needs root to accept a login")
    user = "root"
    client_key, client_public = keypair(tmp_path / "client")
    _, host_public = keypair(tmp_path / "host")
    (tmp_path / "authorized_keys").write_text(client_public)
    (tmp_path / "authorized_keys").chmod(0o600)
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege-separation directory
    port = free_port()
    config = tmp_path / "sshd_config"
    config.write_text(
        f"ListenAddress 127.0.0.1:{port}\n"
        f"HostKey {tmp_path / 'host'}\n"
        f"AuthorizedKeysFile {tmp_path / 'authorized_keys'}\n"
        f"PidFile {tmp_path / 'sshd.pid'}\n"
        "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
    )
    log = tmp_path / "sshd.log"
    sshd = subprocess.Popen([SSHD, "-D", "-E", str(log), "-f", str(config)])
    try:
        wait_for(lambda: "Server listening" in log.read_text(), 10, "sshd listening")
        yield Server(port, user, client_key, f"[127.0.0.1]:{port} {host_public}")
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)


def git(*args: str, cwd: Path) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def deploy(server: Server, **overrides: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "DEPLOY_HOST": "127.0.0.1",
        "DEPLOY_PORT": str(server.port),
        "DEPLOY_USER": server.user,
        "DEPLOY_SSH_KEY": server.client_key,
        "DEPLOY_KNOWN_HOSTS": server.known_hosts,
        **overrides,
    }
    return subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


@pytest.fixture
def repositories(tmp_path: Path) -> tuple[Path, Path]:
    """An origin with one commit, and the server's checkout of it."""
    origin = tmp_path / "origin"
    origin.mkdir()
    git("init", "-q", "-b", "main", cwd=origin)
    (origin / "version").write_text("1\n")
    git("add", "version", cwd=origin)
    git("commit", "-qm", "one", cwd=origin)
    checkout = tmp_path / "server checkout"  # a space: the path must be quoted there
    git("clone", "-q", str(origin), str(checkout), cwd=tmp_path)
    return origin, checkout


def test_update_pulls_the_new_release_on_the_server(server, repositories):
    origin, checkout = repositories
    (origin / "version").write_text("2\n")
    git("commit", "-qam", "two", cwd=origin)
    result = deploy(
        server,
        DEPLOY_PATH=str(checkout),
        DEPLOY_COMMAND="git pull -q --ff-only && cat version",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "2"
    assert (checkout / "version").read_text() == "2\n"


def test_an_unknown_host_key_is_refused(server, repositories, tmp_path):
    _, checkout = repositories
    _, other_host = keypair(tmp_path / "impostor")
    result = deploy(
        server,
        DEPLOY_PATH=str(checkout),
        DEPLOY_KNOWN_HOSTS=f"[127.0.0.1]:{server.port} {other_host}",
        DEPLOY_COMMAND="touch deployed",
    )
    assert result.returncode != 0
    assert (
        "HOST IDENTIFICATION HAS CHANGED" in result.stderr or "verification failed" in result.stderr
    )
    assert "the update failed" in result.stderr
    assert not (checkout / "deployed").exists()


def test_a_failing_update_says_so(server, repositories):
    _, checkout = repositories
    result = deploy(server, DEPLOY_PATH=str(checkout), DEPLOY_COMMAND="exit 7")
    assert result.returncode == 7
    assert "the update failed (exit 7)" in result.stderr


@pytest.mark.parametrize("missing", ["DEPLOY_HOST", "DEPLOY_SSH_KEY", "DEPLOY_KNOWN_HOSTS"])
def test_missing_secrets_are_named(missing):
    env = {
        "PATH": os.environ["PATH"],
        "DEPLOY_HOST": "example.invalid",
        "DEPLOY_USER": "deploy",
        "DEPLOY_SSH_KEY": "key",
        "DEPLOY_KNOWN_HOSTS": "line",
        missing: "",
    }
    result = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True)
    assert result.returncode == 2
    assert missing in result.stderr
    assert "production" in result.stderr
