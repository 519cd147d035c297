"""The local CA (certs/generate_local_certs.py) signs for local names only,
writes private keys that only their owner can read, and keeps the CA's key
apart from what nginx mounts."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from certs import generate_local_certs as certs


def verify(directory: Path, certificate: Path) -> subprocess.CompletedProcess[str]:
    """OpenSSL's own chain check, name constraints included."""
    return subprocess.run(
        ["openssl", "verify", "-CAfile", str(directory / "ca.crt"), str(certificate)],
        capture_output=True,
        text=True,
    )


@pytest.fixture
def openssl():
    if not shutil.which("openssl"):
        pytest.skip("openssl is not installed (apt-get install openssl)")


def test_the_ca_signs_for_local_names_and_nothing_else(tmp_path, openssl):
    names = certs.parse_names("bulletin.lan", "192.168.1.20, laptop.local")
    done = certs.ensure_certificates(tmp_path, names)
    assert any("new local CA" in line for line in done)
    assert verify(tmp_path, tmp_path / "server/server.crt").returncode == 0
    # A certificate for a public name, signed with the CA's key all the same,
    # is refused by any client that checks the chain.
    ca_cert = certs.x509.load_pem_x509_certificate((tmp_path / "ca.crt").read_bytes())
    ca_key = certs._load_key(tmp_path / "ca.key")
    rogue = tmp_path / "rogue"
    rogue.mkdir()
    certs.make_server_cert(rogue, certs.parse_names("bank.example.com", ""), ca_cert, ca_key)
    result = verify(tmp_path, rogue / "server/server.crt")
    assert result.returncode != 0
    assert "subtree" in result.stdout + result.stderr


def test_a_name_outside_the_constraints_is_refused_with_what_to_do(tmp_path):
    certs.ensure_certificates(tmp_path, certs.parse_names("localhost", ""))
    with pytest.raises(certs.BadName, match="Move certs/local/ca.crt and ca.key away"):
        certs.ensure_certificates(tmp_path, certs.parse_names("bulletin.example.com", ""))
    # Names under the local suffixes and private addresses need no new CA.
    certs.ensure_certificates(tmp_path, certs.parse_names("nas.home.arpa", "10.1.2.3"))


def test_private_keys_are_0600_and_the_server_folder_has_no_ca_key(tmp_path):
    certs.ensure_certificates(tmp_path, certs.parse_names("localhost", ""))
    assert (tmp_path / "ca.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "server/server.key").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "server").iterdir()) == ["server.crt", "server.key"]


def test_a_ca_made_before_constraints_keeps_working(tmp_path, openssl):
    """Existing installations trust an unconstrained CA: it is kept, not replaced."""
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
        + ["-nodes", "-keyout", str(tmp_path / "ca.key"), "-out", str(tmp_path / "ca.crt")]
        + ["-subj", "/CN=Bulletin local CA (old)", "-days", "30"],
        check=True,
        capture_output=True,
    )
    before = (tmp_path / "ca.crt").read_bytes()
    done = certs.ensure_certificates(tmp_path, certs.parse_names("bulletin.example.com", ""))
    assert (tmp_path / "ca.crt").read_bytes() == before
    assert any("server certificate" in line for line in done)
    assert verify(tmp_path, tmp_path / "server/server.crt").returncode == 0
