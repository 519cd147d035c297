"""Passkeys (WebAuthn): the ceremonies, checked by fido2 (Yubico's library).

The relying party is the site's public host (SERVER_NAME, without a port):
https://localhost in development, the real name in production. On another
name the site answers (TRUSTED_HOSTS: localhost beside an address, a LAN
name), it is that name, so passkeys work wherever the site is reached by
name. An IP address cannot be a relying party: there, passkeys need a name
(a .local one will do).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from fido2.server import Fido2Server
from fido2.webauthn import (
    AttestedCredentialData,
    AuthenticationResponse,
    PublicKeyCredentialRpEntity,
    PublicKeyCredentialUserEntity,
    RegistrationResponse,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)
from flask import current_app, has_request_context, request

RP_NAME = "Bulletin"


class PasskeyRefused(ValueError):
    """The browser's answer does not prove what it should (fido2 says why)."""

    @classmethod
    def because(cls, error: Exception) -> PasskeyRefused:
        if isinstance(error, KeyError):
            return cls(f"the browser's answer has no {error}")
        return cls(str(error) or type(error).__name__)


def _host(host_and_port: str) -> str:
    return host_and_port if host_and_port.startswith("[") else host_and_port.rsplit(":", 1)[0]


def relying_party_id() -> str:
    configured = _host(current_app.config["PUBLIC_HOST"] or "localhost")
    if not has_request_context():
        return configured
    # The Host header has passed TRUSTED_HOSTS: one of the site's own names.
    requested = _host(request.host)
    if requested == configured or requested.endswith("." + configured):
        return configured
    return requested


def _server() -> Fido2Server:
    return Fido2Server(PublicKeyCredentialRpEntity(name=RP_NAME, id=relying_party_id()))


def _state(state: Mapping[str, Any]) -> dict[str, Any]:
    """fido2's state, as the session cookie can carry it."""
    return {"challenge": state["challenge"], "user_verification": str(state["user_verification"])}


def registration_options(
    *, user_handle: bytes, name: str, display_name: str, existing: Iterable[bytes]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The options for navigator.credentials.create (JSON), and the state to keep."""
    options, state = _server().register_begin(
        PublicKeyCredentialUserEntity(name=name, id=user_handle, display_name=display_name),
        credentials=[AttestedCredentialData(data) for data in existing],
        # Discoverable, so it can sign in without a password; the device's
        # own check (PIN, fingerprint) makes it two factors in one.
        resident_key_requirement=ResidentKeyRequirement.REQUIRED,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return dict(options), _state(state)


@dataclass(frozen=True)
class NewPasskey:
    credential_id: bytes
    credential_data: bytes
    sign_count: int


def verify_registration(state: Mapping[str, Any], response: Mapping[str, Any]) -> NewPasskey:
    try:
        auth_data = _server().register_complete(
            dict(state), RegistrationResponse.from_dict(response)
        )
    except (ValueError, KeyError, TypeError) as error:
        raise PasskeyRefused.because(error) from None
    credential = auth_data.credential_data
    assert credential is not None  # register_complete checked it
    return NewPasskey(credential.credential_id, bytes(credential), auth_data.counter)


def authentication_options(
    allowed: Iterable[bytes] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Options for navigator.credentials.get: ``allowed`` credentials (a second
    step), or None for any passkey of this site (signing in without a password)."""
    credentials = None if allowed is None else [AttestedCredentialData(d) for d in allowed]
    options, state = _server().authenticate_begin(
        credentials, user_verification=UserVerificationRequirement.REQUIRED
    )
    return dict(options), _state(state)


def credential_id_of(response: Mapping[str, Any]) -> bytes:
    try:
        return AuthenticationResponse.from_dict(response).raw_id
    except (ValueError, KeyError, TypeError) as error:
        raise PasskeyRefused.because(error) from None


def verify_authentication(
    state: Mapping[str, Any], credential_data: bytes, sign_count: int, response: Mapping[str, Any]
) -> int:
    """The authenticator's new signature count, once the assertion checks out."""
    try:
        parsed = AuthenticationResponse.from_dict(response)
        _server().authenticate_complete(
            dict(state), [AttestedCredentialData(credential_data)], parsed
        )
    except (ValueError, KeyError, TypeError) as error:
        raise PasskeyRefused.because(error) from None
    counter = parsed.response.authenticator_data.counter
    # A count that does not grow means a cloned authenticator (0: it keeps none).
    if counter and counter <= sign_count:
        raise PasskeyRefused("the authenticator's signature count went back: a cloned key?")
    return counter
