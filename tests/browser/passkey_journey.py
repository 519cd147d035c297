"""The passkey journey, for any base URL: the app on plain HTTP (localhost is a
secure context) and the stack through nginx and TLS run the same steps.

Chromium's virtual authenticator (the DevTools WebAuthn domain, through
Selenium) stands in for a phone or a security key: it makes real credentials
and signs real challenges, with user verification, as a platform
authenticator does.
"""

from __future__ import annotations

from selenium.webdriver.common.by import By
from selenium.webdriver.common.virtual_authenticator import VirtualAuthenticatorOptions
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from tests.browser.chromium import console_problems
from tests.support import PASSWORD


def add_authenticator(browser) -> None:
    browser.add_virtual_authenticator(
        VirtualAuthenticatorOptions(
            protocol=VirtualAuthenticatorOptions.Protocol.CTAP2,
            transport=VirtualAuthenticatorOptions.Transport.INTERNAL,
            has_resident_key=True,
            has_user_verification=True,
            is_user_verified=True,
        )
    )


def wait_for_path(browser, path: str) -> None:
    WebDriverWait(browser, 15).until(
        lambda b: b.current_url.split("?")[0].endswith(path),
        message=f"the browser at {path}",
    )


def signed_in_as(browser, username: str) -> bool:
    return username in browser.find_element(By.CSS_SELECTOR, "nav").text


def sign_in_with_password(browser, base: str, email: str) -> None:
    browser.get(f"{base}/auth/login")
    browser.find_element(By.NAME, "email").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(PASSWORD)
    browser.find_element(By.CSS_SELECTOR, 'input[type=submit][value="Sign in"]').click()


def sign_out(browser) -> None:
    browser.execute_script("document.querySelector('form[action=\"/auth/logout\"]').submit()")
    WebDriverWait(browser, 15).until(
        expected_conditions.presence_of_element_located((By.LINK_TEXT, "Sign in"))
    )


def passkey_journey(browser, base: str, *, email: str, username: str) -> None:
    """Add a passkey, sign in with it alone, then as the second step, then remove it."""
    add_authenticator(browser)
    sign_in_with_password(browser, base, email)
    wait_for_path(browser, "/")
    browser.get(f"{base}/auth/security")
    name = browser.find_element(By.ID, "passkey-name")
    name.clear()
    name.send_keys("Test laptop")
    browser.find_element(By.CSS_SELECTOR, '[data-passkey][data-ceremony="create"]').click()
    wait_for_path(browser, "/auth/security/new-recovery-codes")
    codes = browser.find_elements(By.CSS_SELECTOR, "#recovery-codes li")
    assert len(codes) == 10
    browser.find_element(By.LINK_TEXT, "I have saved them").click()
    wait_for_path(browser, "/auth/security")
    assert "Test laptop" in browser.find_element(By.ID, "passkeys").text
    sign_out(browser)

    # Without a password: the device offers this site's passkey.
    browser.get(f"{base}/auth/login")
    browser.find_element(By.CSS_SELECTOR, '[data-passkey][data-ceremony="get"]').click()
    wait_for_path(browser, "/")
    assert signed_in_as(browser, username)
    sign_out(browser)

    # The password, then the passkey as the second step.
    sign_in_with_password(browser, base, email)
    wait_for_path(browser, "/auth/second-step")
    browser.find_element(By.CSS_SELECTOR, "[data-passkey]").click()
    wait_for_path(browser, "/")
    assert signed_in_as(browser, username)

    # Removed (the factor was just shown): the password alone signs in again.
    browser.get(f"{base}/auth/security")
    remove = browser.find_element(By.CSS_SELECTOR, "#passkeys form button")
    remove.click()
    WebDriverWait(browser, 15).until(expected_conditions.staleness_of(remove))
    wait_for_path(browser, "/auth/security")
    assert "No passkey yet." in browser.find_element(By.ID, "passkeys").text
    assert console_problems(browser) == []
