import json
import logging

import pytest

from bulletin import create_app
from bulletin.runtime.logs import HANDLER_NAME, redact


def test_tokens_in_emailed_link_paths_are_redacted():
    line = '"GET /auth/confirm/eyJ1c2VyIjoi.abc.def HTTP/1.1" 302'
    assert redact(line) == '"GET /auth/confirm/[redacted] HTTP/1.1" 302'
    assert "secret" not in redact("POST /auth/reset/secret-token?x=1")
    assert redact("GET /user/alice") == "GET /user/alice"


def _format(app, message: str, headers: dict[str, str]) -> str:
    handler = next(h for h in logging.getLogger().handlers if h.name == HANDLER_NAME)
    with app.test_request_context(headers=headers):
        record = logging.LogRecord("bulletin.test", logging.INFO, __file__, 1, message, None, None)
        for log_filter in handler.filters:
            log_filter.filter(record)
        return handler.format(record)


def test_production_logs_json_lines_with_the_request_id(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    monkeypatch.setenv("SERVER_NAME", "bulletin.example.com")
    monkeypatch.setenv("GUNICORN_WORKERS", "1")
    app = create_app("production")
    line = _format(app, "hello", {"X-Request-ID": "abc123"})
    entry = json.loads(line)
    assert entry["message"] == "hello"
    assert entry["request_id"] == "abc123"
    assert entry["level"] == "INFO"


def test_malformed_request_id_is_not_logged():
    app = create_app("development")
    line = _format(app, "hello", {"X-Request-ID": "evil forged} {line"})
    assert "forged" not in line
    assert "[-]" in line


def test_werkzeug_request_lines_are_redacted(caplog):
    create_app("development")
    logging.getLogger("werkzeug").info('"GET /auth/reset/tok.en.value HTTP/1.1" 200')
    assert "tok.en.value" not in caplog.text
    assert "[redacted]" in caplog.text


@pytest.mark.parametrize(
    "line",
    [
        "GET /auth/login?next=%2Fauth%2Freset%2Fsecret-token.abc HTTP/1.1",
        "GET /auth/login?next=%2fauth%2fconfirm%2fsecret-token.abc HTTP/1.1",
        "GET /x?next=%252Fauth%252Fchange-email%252Fsecret-token.abc HTTP/1.1",
        "GET /auth/confirm/secret-token.abc?next=%2Fauth%2Freset%2Fsecret-token.abc HTTP/1.1",
    ],
)
def test_percent_encoded_tokens_are_redacted(line):
    assert "secret-token" not in redact(line)
    assert "[redacted]" in redact(line)
