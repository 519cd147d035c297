"""The HTTPS stack on loopback (nginx → gunicorn → PostgreSQL), no Docker."""

import requests

from tests.https_checks import HttpsStackChecks, PageCacheChecks


class TestLoopbackStack(HttpsStackChecks, PageCacheChecks):
    """Production settings: the page cache is on."""

    def test_plain_http_health_checks_reach_the_app_without_redirect(self, app_url):
        for path in ("/healthz", "/readyz"):
            response = requests.get(app_url + path, allow_redirects=False, timeout=5)
            assert response.status_code == 200, (path, response.text)

    def test_no_mail_inbox_outside_development(self, stack):
        """Without MAIL_INBOX nginx has no /maildev/: the path reaches the app, a 404."""
        response = stack.get("/maildev/email")
        assert response.status_code == 404
        assert "MailDev" not in response.text

    def test_entrypoint_migrated_the_empty_database(self, stack):
        log = stack.app_log()
        assert "migrations: upgrading from an empty database" in log
        assert "migrations: upgraded to" in log
        assert "Traceback" not in log
