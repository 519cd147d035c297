"""Chromium through chromedriver, for the suites that drive a real browser
(tests/browser against the app, tests/stack against nginx over TLS). Their
conftest.py files import these fixtures; no other suite loads Selenium."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest


@pytest.fixture
def start_browser(tmp_path):
    """Start Debian's Chromium through chromedriver; ``trusted_ca`` is added to
    its certificate store (an NSS database in its home), as the README tells
    people to do on a Linux desktop. CHROME_BIN and CHROMEDRIVER name another
    Chromium build (GitHub's runners bring Google Chrome and its driver)."""
    chrome = shutil.which(os.environ.get("CHROME_BIN") or "chromium")
    chromedriver = shutil.which(os.environ.get("CHROMEDRIVER") or "chromedriver")
    if not (chrome and chromedriver):
        pytest.skip(
            "Chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    drivers = []

    def start(*, trusted_ca: Path | None = None):
        home = tmp_path / f"home{len(drivers)}"
        if trusted_ca is not None:
            if not shutil.which("certutil"):
                pytest.skip("certutil is not installed (apt-get install libnss3-tools)")
            nssdb = home / ".pki/nssdb"
            nssdb.mkdir(parents=True)
            subprocess.run(["certutil", "-d", f"sql:{nssdb}", "-N", "--empty-password"], check=True)
            subprocess.run(
                [
                    "certutil",
                    "-d",
                    f"sql:{nssdb}",
                    "-A",
                    "-t",
                    "C,,",
                    "-n",
                    "Bulletin local CA",
                    "-i",
                    str(trusted_ca),
                ],
                check=True,
            )
        options = webdriver.ChromeOptions()
        options.binary_location = chrome
        # No sandbox as root; no background networking on a machine without internet.
        for flag in (
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--window-size=1200,900",
            f"--user-data-dir={home / 'profile'}",
        ):
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        service = Service(chromedriver, env={**os.environ, "HOME": str(home)})
        driver = webdriver.Chrome(service=service, options=options)
        driver.implicitly_wait(5)
        drivers.append(driver)
        return driver

    yield start
    for driver in drivers:
        driver.quit()


# Chromium drops its loads when the host's network interfaces change, and the
# Docker suites, run beside these, create and remove networks all the time.
# That is the machine's doing, never the page's.
HOST_NETWORK_CHANGED = "net::ERR_NETWORK_CHANGED"


def console_problems(browser, levels=("SEVERE",)) -> list[str]:
    """The page's console messages at these levels: a CSP refusal, a missing
    file or a script error shows up here even when the page looks right."""
    return [
        entry["message"]
        for entry in browser.get_log("browser")
        if entry["level"] in levels and HOST_NETWORK_CHANGED not in entry["message"]
    ]


@pytest.fixture
def browser(start_browser):
    """Chromium for pages served over plain HTTP by live_server."""
    return start_browser()
