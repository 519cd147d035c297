#!/usr/bin/env python3
"""Make a local certificate authority and a server certificate signed by it.

Browsers accept the server certificate once the CA (local/ca.crt) is trusted,
so https://localhost and the host's LAN address work without warnings.

    python certs/generate_local_certs.py            # or: make certs
    SERVER_NAME=bulletin.lan CERT_EXTRA_SANS=192.168.1.20 python certs/generate_local_certs.py

Idempotent: the CA is kept for ten years once made (devices that trust it
keep trusting it); the server certificate is remade only when it is missing,
has other names than asked for, was signed by another CA or expires within
30 days. It lives 365 days, inside the 398 days browsers accept.
"""

from __future__ import annotations

import argparse
import datetime
import ipaddress
import os
import re
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_LIFETIME = datetime.timedelta(days=3650)
SERVER_LIFETIME = datetime.timedelta(days=365)
RENEW_BEFORE = datetime.timedelta(days=30)
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"^(\*\.)?{LABEL}(\.{LABEL})*$")

GeneralName = x509.DNSName | x509.IPAddress


class BadName(ValueError):
    """A requested subject alternative name is neither a host name nor an IP address."""


def parse_names(server_name: str, extra: str) -> list[GeneralName]:
    """The defaults, then SERVER_NAME, then CERT_EXTRA_SANS (comma or space separated)."""
    names: list[GeneralName] = []
    for raw in (*DEFAULT_NAMES, server_name, *re.split(r"[,\s]+", extra)):
        value = raw.strip().lower()
        if not value:
            continue
        try:
            name: GeneralName = x509.IPAddress(ipaddress.ip_address(value))
        except ValueError:
            if not HOSTNAME.match(value) or len(value) > 253:
                raise BadName(
                    f"{raw!r} is neither a host name nor an IP address; "
                    "fix SERVER_NAME or CERT_EXTRA_SANS"
                ) from None
            name = x509.DNSName(value)
        if name not in names:
            names.append(name)
    return names


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _write_key(path: Path, key: ec.EllipticCurvePrivateKey) -> None:
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def make_ca(directory: Path) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Bulletin local CA"),
            x509.NameAttribute(NameOID.COMMON_NAME, f"Bulletin local CA {_now():%Y-%m-%d %H:%M}"),
        ]
    )
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    _write_key(directory / "ca.key", key)
    _write_cert(directory / "ca.crt", cert)
    return cert, key


def make_server_cert(
    directory: Path,
    names: list[GeneralName],
    ca_cert: x509.Certificate,
    ca_key: ec.EllipticCurvePrivateKey,
) -> x509.Certificate:
    key = ec.generate_private_key(ec.SECP256R1())
    first = names[0].value
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, str(first))])
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(ca_cert.subject)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5))
        .not_valid_after(_now() + SERVER_LIFETIME)
        .add_extension(x509.SubjectAlternativeName(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=False,
                crl_sign=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    # Key first, certificate last: nginx never sees a certificate without its key.
    _write_key(directory / "server.key", key)
    # nginx sends the chain it is given: leaf, then the CA.
    (directory / "server.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    (directory / "server.crt").chmod(0o644)
    return cert


def why_remake(directory: Path, names: list[GeneralName], ca_cert: x509.Certificate) -> str | None:
    """Why the server certificate must be made again, or None when it is fine."""
    path = directory / "server.crt"
    if not path.exists() or not (directory / "server.key").exists():
        return "no server certificate yet"
    cert = x509.load_pem_x509_certificates(path.read_bytes())[0]
    if cert.issuer != ca_cert.subject:
        return "it was signed by another CA"
    if cert.not_valid_after_utc - _now() < RENEW_BEFORE:
        return f"it expires on {cert.not_valid_after_utc:%Y-%m-%d}"
    current = set(cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value)
    if current != set(names):
        return "the names asked for changed"
    return None


def ensure_certificates(directory: Path, names: list[GeneralName]) -> list[str]:
    """Make whatever is missing or stale in ``directory``; say what was done."""
    directory.mkdir(parents=True, exist_ok=True)
    done = []
    if (directory / "ca.crt").exists() and (directory / "ca.key").exists():
        ca_cert = x509.load_pem_x509_certificate((directory / "ca.crt").read_bytes())
        ca_key = _load_key(directory / "ca.key")
    else:
        ca_cert, ca_key = make_ca(directory)
        done.append(f"made a new local CA: {directory / 'ca.crt'} (trust it once per device)")
    reason = why_remake(directory, names, ca_cert)
    if reason:
        make_server_cert(directory, names, ca_cert, ca_key)
        shown = ", ".join(str(name.value) for name in names)
        done.append(f"made a server certificate for {shown} ({reason})")
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--dir",
        type=Path,
        default=Path(__file__).resolve().parent / "local",
        help="where the files go (default: certs/local beside this script)",
    )
    args = parser.parse_args(argv)
    try:
        names = parse_names(
            os.environ.get("SERVER_NAME", ""), os.environ.get("CERT_EXTRA_SANS", "")
        )
    except BadName as error:
        print(f"generate_local_certs: {error}", file=sys.stderr)
        return 2
    for line in ensure_certificates(args.dir, names) or ["certificates present and current"]:
        print(f"generate_local_certs: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
