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

People install the CA on laptops and phones, so it can sign for nothing but
local names: its Name Constraints permit localhost and *.localhost, the LAN
suffixes (.local, .lan, .home.arpa, .internal), loopback and private address
ranges, and SERVER_NAME and CERT_EXTRA_SANS as they were when it was made.
Private keys are created with mode 0600. The server certificate and key go in
server/ beside the CA, so nginx mounts that folder and never sees ca.key.
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
SERVER_DIR = "server"  # what nginx mounts: the server certificate and key, not the CA's key
DEFAULT_NAMES = ("localhost", "127.0.0.1", "::1")
LABEL = r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?"
HOSTNAME = re.compile(rf"^(\*\.)?{LABEL}(\.{LABEL})*$")

GeneralName = x509.DNSName | x509.IPAddress
# What the CA may sign for, whatever names are asked for later.
LOCAL_DOMAINS = ("localhost", "local", "lan", "home.arpa", "internal")
LOCAL_NETWORKS = (
    "127.0.0.0/8",
    "10.0.0.0/8",
    "172.16.0.0/12",
    "192.168.0.0/16",
    "100.64.0.0/10",  # carrier-grade NAT, as VPN meshes use
    "169.254.0.0/16",
    "::1/128",
    "fc00::/7",
    "fe80::/10",
)


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
    """Write a private key that is never readable by others, not even for a moment."""
    path.unlink(missing_ok=True)
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as file:
        file.write(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )


def _write_cert(path: Path, cert: x509.Certificate) -> None:
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    path.chmod(0o644)


def _load_key(path: Path) -> ec.EllipticCurvePrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    return key


def _key_usage(*, signs_certificates: bool) -> x509.KeyUsage:
    """Signatures only, and certificates and CRLs for the CA."""
    return x509.KeyUsage(
        digital_signature=True,
        key_cert_sign=signs_certificates,
        crl_sign=signs_certificates,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        encipher_only=False,
        decipher_only=False,
    )


def name_constraints(names: list[GeneralName]) -> x509.NameConstraints:
    """Local names and networks, and the names asked for now."""
    permitted: list[x509.GeneralName] = [x509.DNSName(d) for d in LOCAL_DOMAINS]
    permitted += [x509.IPAddress(ipaddress.ip_network(n)) for n in LOCAL_NETWORKS]
    for name in names:
        if isinstance(name, x509.DNSName):
            constraint: x509.GeneralName = x509.DNSName(name.value.removeprefix("*."))
        else:
            address = name.value
            constraint = x509.IPAddress(ipaddress.ip_network(f"{address}/{address.max_prefixlen}"))
        if not any(_permits(p, name) for p in permitted):
            permitted.append(constraint)
    return x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None)


def _permits(constraint: x509.GeneralName, name: GeneralName) -> bool:
    if isinstance(constraint, x509.DNSName) and isinstance(name, x509.DNSName):
        host, domain = name.value.removeprefix("*."), constraint.value
        return host == domain or host.endswith("." + domain)
    if isinstance(constraint, x509.IPAddress) and isinstance(name, x509.IPAddress):
        network = constraint.value
        return isinstance(network, ipaddress.IPv4Network | ipaddress.IPv6Network) and (
            name.value.version == network.version and name.value in network
        )
    return False


def not_permitted(ca_cert: x509.Certificate, names: list[GeneralName]) -> list[str]:
    """The names this CA may not sign for (none when it has no constraints)."""
    try:
        constraints = ca_cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return []  # a CA made before constraints existed: it keeps working
    permitted = constraints.permitted_subtrees or []
    return [str(n.value) for n in names if not any(_permits(p, n) for p in permitted)]


def make_ca(
    directory: Path, names: list[GeneralName]
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
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
        .add_extension(_key_usage(signs_certificates=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(name_constraints(names), critical=True)
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
        .add_extension(_key_usage(signs_certificates=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .sign(ca_key, hashes.SHA256())
    )
    # Key first, certificate last: nginx never sees a certificate without its key.
    server = directory / SERVER_DIR
    server.mkdir(exist_ok=True)
    _write_key(server / "server.key", key)
    # nginx sends the chain it is given: leaf, then the CA.
    (server / "server.crt").write_bytes(
        cert.public_bytes(serialization.Encoding.PEM)
        + ca_cert.public_bytes(serialization.Encoding.PEM)
    )
    (server / "server.crt").chmod(0o644)
    return cert


def why_remake(directory: Path, names: list[GeneralName], ca_cert: x509.Certificate) -> str | None:
    """Why the server certificate must be made again, or None when it is fine."""
    path = directory / SERVER_DIR / "server.crt"
    if not path.exists() or not (directory / SERVER_DIR / "server.key").exists():
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
        ca_cert, ca_key = make_ca(directory, names)
        done.append(f"made a new local CA: {directory / 'ca.crt'} (trust it once per device)")
    refused = not_permitted(ca_cert, names)
    if refused:
        raise BadName(
            f"the local CA may not sign for {', '.join(refused)}: its name constraints were "
            "set when it was made. Move certs/local/ca.crt and ca.key away and run again "
            "to make a new CA (then trust the new one on each device), or use a name "
            "under .local, .lan, .home.arpa or .internal, or a private address"
        )
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
    try:
        done = ensure_certificates(args.dir, names)
    except BadName as error:
        print(f"generate_local_certs: {error}", file=sys.stderr)
        return 2
    for line in done or ["certificates present and current"]:
        print(f"generate_local_certs: {line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
