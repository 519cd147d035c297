"""Passkeys in a real browser, against the app (see passkey_journey.py)."""

from __future__ import annotations

from urllib.parse import urlsplit

from .passkey_journey import passkey_journey


def test_a_passkey_is_added_signs_in_alone_and_as_second_step_and_is_removed(
    app, live_server, browser, make_user
):
    make_user("pia")
    # By name, not address: a relying party is a domain, and localhost is a
    # secure context even over plain HTTP.
    port = urlsplit(live_server).port
    app.config["PUBLIC_HOST"] = f"localhost:{port}"
    passkey_journey(browser, f"http://localhost:{port}", email="pia@example.com", username="pia")
