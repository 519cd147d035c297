"""A real browser that trusts the local CA, as a user's does after the README's
steps: the stack's pages load over HTTP/2 with no certificate error and no
mixed content."""

from selenium.webdriver.common.by import By

from tests.browser.chromium import console_problems


def test_browser_trusting_the_local_ca_gets_http2_and_no_mixed_content(start_browser, stack):
    browser = start_browser(trusted_ca=stack.ca_file)
    for path in ("/api/v1/docs", "/", "/auth/login"):
        browser.get(stack.https_url + path)
        assert "Privacy error" not in browser.title, f"certificate refused on {path}"
        protocol = browser.execute_script(
            "return performance.getEntriesByType('navigation')[0].nextHopProtocol"
        )
        assert protocol == "h2", path
        resources = browser.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name)"
        )
        assert resources, f"{path} loads its stylesheets and scripts"
        assert all(url.startswith(stack.https_url) for url in resources), resources
        problems = console_problems(browser, levels=("SEVERE", "WARNING"))
        assert problems == [], f"{path}: {problems}"
    assert browser.find_element(By.NAME, "email")  # the login form rendered
