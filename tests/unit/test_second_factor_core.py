"""The second factor's parts on their own: codes by time step, and sealed secrets."""

from __future__ import annotations

import pyotp
import pytest

from bulletin import create_app
from bulletin.core import secret_box, totp

NOW = 1_800_000_000.0  # a fixed moment: no test here depends on the clock
STEP = int(NOW // totp.STEP_SECONDS)


def code_at(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * totp.STEP_SECONDS)


def test_a_code_from_the_next_or_previous_step_is_taken_and_no_further():
    secret = totp.new_secret()
    for offset in (-1, 0, 1):
        assert (
            totp.accepted_step(secret, code_at(secret, STEP + offset), after_step=0, now=NOW)
            == STEP + offset
        )
    for offset in (-2, 2):
        assert (
            totp.accepted_step(secret, code_at(secret, STEP + offset), after_step=0, now=NOW)
            is None
        )


def test_a_step_already_used_is_never_taken_again():
    secret = totp.new_secret()
    code = code_at(secret, STEP)
    assert totp.accepted_step(secret, code, after_step=STEP, now=NOW) is None
    assert totp.accepted_step(secret, code, after_step=STEP - 1, now=NOW) == STEP


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_anything_but_six_digits_is_refused(typed):
    assert totp.accepted_step(totp.new_secret(), typed, after_step=0, now=NOW) is None


def test_spaces_in_a_typed_code_are_ignored():
    secret = totp.new_secret()
    code = code_at(secret, STEP)
    assert totp.accepted_step(secret, f"{code[:3]} {code[3:]}", after_step=0, now=NOW) == STEP


def test_a_sealed_secret_opens_only_under_the_same_key_and_purpose():
    one = create_app("testing", {"SECRET_KEY": "k" * 40})
    other = create_app("testing", {"SECRET_KEY": "z" * 40})
    with one.app_context():
        sealed = secret_box.seal("totp", "JBSWY3DPEHPK3PXP")
        assert "JBSWY3DPEHPK3PXP" not in sealed
        assert secret_box.open_secret("totp", sealed) == "JBSWY3DPEHPK3PXP"
        with pytest.raises(secret_box.InvalidToken):
            secret_box.open_secret("another purpose", sealed)
    with other.app_context(), pytest.raises(secret_box.InvalidToken):
        secret_box.open_secret("totp", sealed)


def test_the_qr_code_is_an_svg_of_the_provisioning_uri():
    secret = totp.new_secret()
    uri = totp.provisioning_uri(secret, account="ann@example.com", issuer="Bulletin")
    assert uri.startswith(f"otpauth://totp/Bulletin:ann%40example.com?secret={secret}")
    assert totp.qr_svg(uri).startswith("<svg")
