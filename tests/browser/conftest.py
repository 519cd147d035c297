"""The browser suite: the app on a live server, driven by Chromium."""

from tests.browser.chromium import browser, start_browser

__all__ = ["browser", "start_browser"]
