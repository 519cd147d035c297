"""What the README promises a newcomer, done in a real browser.

Register, follow the confirmation link from the mail, sign in, post, follow
someone, comment, find the post with the search box, sign out; with no
script errors along the way.
"""

from __future__ import annotations

import re

from selenium.common.exceptions import WebDriverException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from bulletin.extensions import mail
from bulletin.services import blog
from tests.browser.chromium import console_problems
from tests.support import PASSWORD, get_user


def fill(browser, fields: dict[str, str]) -> None:
    for name, value in fields.items():
        element = browser.find_element(By.NAME, name)
        element.clear()
        element.send_keys(value)


def click_and_wait(browser, element) -> None:
    """Click, then wait until the next page has replaced this one."""
    element.click()
    # Asked mid-navigation, chromedriver may answer "Node ... does not belong
    # to the document" instead of "stale": ask again until it says stale.
    WebDriverWait(browser, 10, ignored_exceptions=[WebDriverException]).until(
        expected_conditions.staleness_of(element)
    )


def submit(browser, label: str) -> None:
    click_and_wait(
        browser, browser.find_element(By.CSS_SELECTOR, f'input[type=submit][value="{label}"]')
    )


def flashes(browser) -> str:
    return " ".join(e.text for e in browser.find_elements(By.CSS_SELECTOR, ".alert"))


def test_newcomer_registers_confirms_posts_follows_comments_and_signs_out(
    app, live_server, browser, make_user, tmp_path
):
    make_user("veteran")
    with app.app_context():
        blog.create_post(author=get_user(app, "veteran"), body="Welcome, *newcomers*!")

    with mail.record_messages() as outbox:
        browser.get(f"{live_server}/auth/register")
        fill(
            browser,
            {
                "email": "newcomer@example.com",
                "username": "newcomer",
                "password": PASSWORD,
                "password2": PASSWORD,
            },
        )
        submit(browser, "Register")
        assert "confirmation link has been sent" in flashes(browser)
    link = re.search(r"http://\S+/auth/confirm/\S+", outbox[0].body).group(0)

    # Following the link first asks to sign in, then confirms.
    browser.get(link)
    fill(browser, {"email": "newcomer@example.com", "password": PASSWORD})
    submit(browser, "Sign in")
    assert "Your account is confirmed" in flashes(browser), browser.current_url

    fill(browser, {"body": "My **first** post"})
    submit(browser, "Publish")
    assert "Your post is published." in flashes(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".post-body strong").text == "first"
    # Flask-Moment's script ran: times read "a few seconds ago", not raw ISO dates.
    assert "ago" in browser.find_element(By.CSS_SELECTOR, ".posts li span").text

    browser.get(f"{live_server}/user/veteran")
    click_and_wait(browser, browser.find_element(By.CSS_SELECTOR, "form button.btn-primary"))
    assert "You are now following veteran." in flashes(browser)
    assert browser.find_element(By.CSS_SELECTOR, ".followers-count").text == "1"

    click_and_wait(browser, browser.find_element(By.LINK_TEXT, "Permalink and comments"))
    fill(browser, {"body": "Thanks for the welcome!"})
    submit(browser, "Comment")
    assert "Your comment has been published." in flashes(browser)
    assert "Thanks for the welcome!" in browser.find_element(By.CSS_SELECTOR, ".comments").text

    browser.save_screenshot(str(tmp_path / "post-with-comment.png"))  # kept for a failing run

    # The search box in the navigation bar finds the post written above.
    box = browser.find_element(By.CSS_SELECTOR, "nav input[name=q]")
    box.send_keys("first post")
    page = browser.find_element(By.TAG_NAME, "html")
    box.send_keys(Keys.ENTER)
    WebDriverWait(browser, 10, ignored_exceptions=[WebDriverException]).until(
        expected_conditions.staleness_of(page)
    )
    result = browser.find_element(By.CSS_SELECTOR, ".results .snippet")
    assert "first" in result.find_element(By.TAG_NAME, "mark").text.lower(), result.text
    assert "newcomer" in browser.find_element(By.CSS_SELECTOR, ".results").text
    browser.find_element(By.CSS_SELECTOR, ".navbar .dropdown-toggle").click()
    sign_out = browser.find_element(By.XPATH, "//button[normalize-space()='Sign out']")
    click_and_wait(browser, sign_out)
    assert "You have been signed out." in flashes(browser)
    assert browser.find_elements(By.LINK_TEXT, "Sign in")

    assert console_problems(browser) == []
