"""Settings per environment, read from environment variables when the app is built.

Nothing here reads ``os.environ`` at import time: ``create_app`` passes the
environment in, so tests can build an app from a plain mapping.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from .runtime.connection_budget import DEFAULT_THREADS

# Shipped in .env.example until this release, so still in some .env files:
# production refuses it, development replaces it with a generated key.
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105  (refused everywhere but tests)


# Names every deployment answers to: health checks and probes from inside the
# container or pod, and a developer's own browser.
LOOPBACK_HOSTS = ("localhost", ".localhost", "127.0.0.1")
# Names that only exist on a local network, accepted in development so that
# phones and laptops on the LAN reach `make dev` and the development stack.
LAN_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal")
# Longest page cache a setting may ask for (PAGE_CACHE_SECONDS).
MAX_PAGE_CACHE_SECONDS = 60


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names the variable to set."""


def _flag(value: str | None, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def secret(env: Mapping[str, str], name: str) -> str | None:
    """``name``, or the contents of the file ``<name>_FILE`` names, which wins.

    Docker and Kubernetes hand secrets over as files, so they never sit in the
    environment that `docker inspect` shows.
    """
    path = env.get(f"{name}_FILE")
    if not path:
        return env.get(name) or None
    try:
        value = Path(path).read_text().strip()
    except OSError as error:
        raise ConfigError(
            f"{name}_FILE={path!r} cannot be read ({error.strerror}): mount the secret "
            f"there, or unset {name}_FILE and set {name}."
        ) from None
    if not value:
        raise ConfigError(f"{name}_FILE={path!r} is empty: put the {name} in it.")
    return value


def generated_secret_key(path: str) -> str:
    """A random key made on first use and kept in ``path``, for development.

    A published default would let anyone who can reach a developer's stack
    sign sessions and API tokens; this one never leaves the machine.
    """
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        draft = file.with_name(f".{file.name}.{secrets.token_hex(8)}")
        draft.touch(mode=0o600)
        draft.write_text(secrets.token_urlsafe(48) + "\n")
        try:
            os.link(draft, file)  # atomic: replicas starting together keep the first key
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return file.read_text().strip()


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "")
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {raw!r}.") from None


def host_names(*raw: str | None) -> list[str]:
    """Host names from comma- or space-separated settings, without ports."""
    names = []
    for value in raw:
        for name in re.split(r"[,\s]+", value or ""):
            name = name.strip().lower()
            if name and not name.startswith("["):  # an IPv6 literal keeps its colons
                name = name.rsplit(":", 1)[0] if name.count(":") == 1 else name
            if name and name not in names:
                names.append(name)
    return names


def this_machine() -> list[str]:
    """This machine's name and the address it reaches the LAN from."""
    names = [socket.gethostname().lower()]
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("10.255.255.255", 1))  # chooses a route; sends nothing
            names.append(probe.getsockname()[0])
        except OSError:
            pass  # no network: the loopback names still work
    return names


def storage_uri(raw: str | None, password: str | None = None) -> str:
    """The rate limits' storage, with ``password`` (REDIS_PASSWORD, usually
    from a secret file) put into a ``redis://`` URI that has none, so the URI
    itself holds no secret."""
    raw = raw or "memory://"
    if not password:
        return raw
    if not raw.startswith(("redis://", "rediss://")):
        raise ConfigError("REDIS_PASSWORD is set but RATELIMIT_STORAGE_URI is not a redis:// URI.")
    scheme, rest = raw.split("://", 1)
    if "@" in rest.split("/", 1)[0]:
        raise ConfigError(
            "RATELIMIT_STORAGE_URI has a password and REDIS_PASSWORD is set too: keep one."
        )
    return f"{scheme}://:{quote(password, safe='')}@{rest}"


def database_url(raw: str | None, password: str | None = None) -> str | None:
    """Accept the ``postgres://`` form that hosting providers hand out.

    ``password`` (DATABASE_PASSWORD, usually from a secret file) replaces the
    URL's, so one secret serves PostgreSQL and the app and the URL is not secret.
    None means the SQLite file in the app's instance folder (see create_app).
    """
    if not raw:
        if password:
            raise ConfigError("DATABASE_PASSWORD is set but DATABASE_URL is not: set both.")
        return None
    if raw.startswith("postgres://"):
        raw = "postgresql://" + raw.removeprefix("postgres://")
    if password:
        try:
            url = make_url(raw)
        except ArgumentError:
            raise ConfigError(
                "DATABASE_URL is not a URL such as postgresql://user@host:5432/name."
            ) from None
        raw = url.set(password=password).render_as_string(hide_password=False)
    return raw


class Config:
    """Settings every environment shares."""

    ENV_NAME = "development"
    # `flask run` (make dev) listens on port 5000.
    PUBLIC_HOST: str | None = "localhost:5000"
    DEBUG = False
    TESTING = False
    SESSION_COOKIE_SECURE = False
    HSTS_MAX_AGE = 300  # short: a developer's browser must not pin localhost for a year
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # Logging in again refreshes the remember cookie's lifetime.
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    # No ping at every checkout: bulletin/runtime/pool.py pings only idle connections.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, bool | int] = {"pool_pre_ping": False}
    BOOTSTRAP_SERVE_LOCAL = True
    RATELIMIT_HEADERS_ENABLED = True
    # A window that moves with each request: a fixed one lets twice the limit
    # through across its boundary, and made the rate-limit tests depend on the clock.
    RATELIMIT_STRATEGY = "moving-window"
    # flask-smorest: the OpenAPI document and its interactive docs, from local files.
    API_TITLE = "Bulletin API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"
    LOG_FORMAT = "text"
    MAIL_SEND_ASYNC = True
    PAGE_CACHE_SECONDS = 0  # a developer sees each change at once

    def __init__(self, env: Mapping[str, str]) -> None:
        # Unset in development: create_app generates one (GENERATED_SECRET_KEY_FILE).
        self.SECRET_KEY = secret(env, "SECRET_KEY")
        if self.SECRET_KEY == DEV_SECRET_KEY and self.ENV_NAME == "development":
            self.SECRET_KEY = None
        self.GENERATED_SECRET_KEY_FILE = env.get("GENERATED_SECRET_KEY_FILE") or None
        self.SQLALCHEMY_DATABASE_URI = database_url(
            secret(env, "DATABASE_URL"), secret(env, "DATABASE_PASSWORD")
        )
        self.MAX_CONTENT_LENGTH = _int(env, "MAX_CONTENT_LENGTH", 1024 * 1024)
        self.POSTS_PER_PAGE = _int(env, "POSTS_PER_PAGE", 20)
        self.FOLLOWERS_PER_PAGE = _int(env, "FOLLOWERS_PER_PAGE", 50)
        self.COMMENTS_PER_PAGE = _int(env, "COMMENTS_PER_PAGE", 30)
        # How long nginx may answer visitors from one copy of the home page, a
        # post or a profile (bulletin/web/page_cache.py); 0: never shared.
        self.PAGE_CACHE_SECONDS = _int(env, "PAGE_CACHE_SECONDS", self.PAGE_CACHE_SECONDS)
        if not 0 <= self.PAGE_CACHE_SECONDS <= MAX_PAGE_CACHE_SECONDS:
            raise ConfigError(
                f"PAGE_CACHE_SECONDS must be from 0 (off) to {MAX_PAGE_CACHE_SECONDS}: "
                "longer, visitors would wait too long to see a new post."
            )
        # A signed-in browser without "remember me" is signed out after this long
        # without a request (remembered ones last REMEMBER_COOKIE_DURATION, 14 days).
        self.SESSION_IDLE_TIMEOUT = timedelta(minutes=_int(env, "SESSION_IDLE_MINUTES", 120))
        self.CONFIRM_TOKEN_MAX_AGE = _int(env, "CONFIRM_TOKEN_MAX_AGE", 24 * 3600)
        self.RESET_TOKEN_MAX_AGE = _int(env, "RESET_TOKEN_MAX_AGE", 3600)
        # A change of address is a change of credentials: as short as a reset.
        self.CHANGE_EMAIL_TOKEN_MAX_AGE = _int(env, "CHANGE_EMAIL_TOKEN_MAX_AGE", 3600)
        # argon2id, at or above OWASP's minimum (m=19 MiB, t=2, p=1).
        self.ARGON2_MEMORY_KIB = _int(env, "ARGON2_MEMORY_KIB", 19 * 1024)
        self.ARGON2_TIME_COST = _int(env, "ARGON2_TIME_COST", 2)
        self.ARGON2_PARALLELISM = _int(env, "ARGON2_PARALLELISM", 1)
        self.PREFERRED_URL_SCHEME = env.get("PREFERRED_URL_SCHEME") or "http"
        # The public host in emailed links: SERVER_NAME, with HTTPS_PORT when the
        # stack publishes https elsewhere than 443. Never the request's Host
        # header, which the client chooses (password-reset link poisoning).
        self.PUBLIC_HOST = env.get("SERVER_NAME") or self.PUBLIC_HOST
        https_port = env.get("HTTPS_PORT") or "443"
        if self.PUBLIC_HOST and ":" not in self.PUBLIC_HOST and https_port != "443":
            self.PUBLIC_HOST = f"{self.PUBLIC_HOST}:{https_port}"
        # The Host headers the app answers (Flask refuses others with 400): the
        # loopback names, SERVER_NAME, the certificate's extra names, the Let's
        # Encrypt domains and ALLOWED_HOSTS. A leading dot allows subdomains.
        self.TRUSTED_HOSTS = [
            *LOOPBACK_HOSTS,
            *host_names(
                env.get("SERVER_NAME"),
                env.get("CERT_EXTRA_SANS"),
                env.get("LETSENCRYPT_DOMAINS"),
                env.get("ALLOWED_HOSTS"),
            ),
        ]
        self.MAIL_SERVER = env.get("MAIL_SERVER") or None
        self.MAIL_PORT = _int(env, "MAIL_PORT", 587)
        self.MAIL_USE_TLS = _flag(env.get("MAIL_USE_TLS"), default=True)
        self.MAIL_USE_SSL = _flag(env.get("MAIL_USE_SSL"))
        self.MAIL_USERNAME = env.get("MAIL_USERNAME") or None
        self.MAIL_PASSWORD = secret(env, "MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = env.get("MAIL_DEFAULT_SENDER") or "Bulletin <noreply@localhost>"
        self.MAIL_SUBJECT_PREFIX = env.get("MAIL_SUBJECT_PREFIX", "[Bulletin] ")
        # JSON API: bearer tokens (signed JWTs) and rate limits.
        self.API_TOKEN_TTL = _int(env, "API_TOKEN_TTL", 3600)
        self.RATELIMIT_STORAGE_URI = storage_uri(
            secret(env, "RATELIMIT_STORAGE_URI"), secret(env, "REDIS_PASSWORD")
        )
        self.RATELIMIT_ALLOW_MEMORY = _flag(env.get("RATELIMIT_ALLOW_MEMORY"))
        # To judge memory:// above and the connections budget; 0 means
        # gunicorn's default (2 x CPUs + 1).
        self.GUNICORN_WORKERS = _int(env, "GUNICORN_WORKERS", 0)
        # The connections budget (bulletin/runtime/connection_budget.py): one pool per worker,
        # as large as the requests it serves at once (GUNICORN_THREADS).
        self.WEB_REPLICAS = _int(env, "WEB_REPLICAS", 1)
        threads = _int(env, "GUNICORN_THREADS", DEFAULT_THREADS)
        self.DB_POOL_SIZE = _int(env, "DB_POOL_SIZE", threads)
        self.DB_MAX_OVERFLOW = _int(env, "DB_MAX_OVERFLOW", 2)
        if self.SQLALCHEMY_DATABASE_URI and not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            self.SQLALCHEMY_ENGINE_OPTIONS = {
                **self.SQLALCHEMY_ENGINE_OPTIONS,
                "pool_size": self.DB_POOL_SIZE,
                "max_overflow": self.DB_MAX_OVERFLOW,
            }
        self.AUTH_RATE_LIMIT = env.get("AUTH_RATE_LIMIT") or "10/minute"
        # Failed sign-ins per account, from any address (browsers that signed in
        # to the account before are exempt, so the owner is never locked out).
        self.ACCOUNT_SIGN_IN_LIMIT = env.get("ACCOUNT_SIGN_IN_LIMIT") or "10/15 minutes"
        # Mails a person can trigger (resend confirmation, change email), per
        # user and per address: an inbox is not to be flooded.
        self.MAIL_RATE_LIMIT = env.get("MAIL_RATE_LIMIT") or "5/hour"
        # Mails to one address, whoever asks (resets, "someone tried to register"):
        # past it they are dropped silently, so nobody can flood an inbox.
        self.MAIL_RECIPIENT_LIMIT = env.get("MAIL_RECIPIENT_LIMIT") or "5/hour"
        self.API_WRITE_RATE_LIMIT = env.get("API_WRITE_RATE_LIMIT") or "120/minute"
        # Searches per address (the page and the API), and the longest one may
        # run before it is answered "narrow your search" (PostgreSQL).
        self.SEARCH_RATE_LIMIT = env.get("SEARCH_RATE_LIMIT") or "30/minute"
        self.SEARCH_TIMEOUT_MS = _int(env, "SEARCH_TIMEOUT_MS", 1000)
        # Behind nginx: how many proxies set each X-Forwarded-* header (0 = no proxy,
        # so clients cannot forge their address). Compose sets 1.
        self.PROXY_HOPS = _int(env, "PROXY_HOPS", 0)
        # Security headers (Flask-Talisman). HSTS only reaches browsers over https.
        self.HSTS_MAX_AGE = _int(env, "HSTS_MAX_AGE", self.HSTS_MAX_AGE)
        self.SESSION_COOKIE_SECURE = _flag(
            env.get("SECURE_COOKIES"), default=self.SESSION_COOKIE_SECURE
        )
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        # Cache lifetime of files Flask serves itself (nginx serves /static/ in the stack).
        self.SEND_FILE_MAX_AGE_DEFAULT = _int(env, "SEND_FILE_MAX_AGE", 0) or None
        if env.get("LOG_FORMAT"):
            self.LOG_FORMAT = env["LOG_FORMAT"]
        self.LOG_LEVEL = env.get("LOG_LEVEL") or "INFO"
        # Error reports to Sentry (or a compatible service such as GlitchTip)
        # when a DSN is set; SENTRY_TRACES_SAMPLE_RATE > 0 adds performance traces.
        self.SENTRY_DSN = secret(env, "SENTRY_DSN")
        # Which build this is (the image sets it from the commit): in /healthz
        # and on each error report.
        self.RELEASE = env.get("BULLETIN_RELEASE") or "unknown"
        self.SENTRY_TRACES_SAMPLE_RATE = float(env.get("SENTRY_TRACES_SAMPLE_RATE") or 0)
        # The backup service's status file; /metrics reports the last good backup's age.
        self.BACKUP_STATUS_FILE = env.get("BACKUP_STATUS_FILE") or None

    def check(self) -> None:
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    DEBUG = True

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.TRUSTED_HOSTS += [*LAN_SUFFIXES, *this_machine()]


class TestingConfig(Config):
    ENV_NAME = "testing"
    PUBLIC_HOST = "localhost"  # the test client's host
    TESTING = True
    # Tests sign in far more often than a person; the rate-limit tests turn it on.
    RATELIMIT_ENABLED = False
    MAIL_SEND_ASYNC = False  # tests read the outbox right after the request

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.SECRET_KEY = self.SECRET_KEY or "testing-only-key"  # noqa: S105
        # The test suite passes the database it wants; never touch the dev one.
        self.SQLALCHEMY_DATABASE_URI = "sqlite://"
        self.MAIL_SERVER = None
        # The suites hash thousands of passwords: argon2id at its cheapest here.
        # tests/unit/test_config.py proves production keeps the real parameters.
        self.ARGON2_MEMORY_KIB = 64
        self.ARGON2_TIME_COST = 1


class ProductionConfig(Config):
    ENV_NAME = "production"
    PUBLIC_HOST = None  # required: see check()
    LOG_FORMAT = "json"
    SESSION_COOKIE_SECURE = True
    HSTS_MAX_AGE = 31_536_000  # one year
    PREFERRED_URL_SCHEME = "https"
    # A crowd of visitors costs the app one page per 2 s, and a new post
    # reaches them within 2 s.
    PAGE_CACHE_SECONDS = 2

    def __init__(self, env: Mapping[str, str]) -> None:
        super().__init__(env)
        self.PREFERRED_URL_SCHEME = env.get("PREFERRED_URL_SCHEME") or "https"

    def check(self) -> None:
        if not self.SECRET_KEY or self.SECRET_KEY == DEV_SECRET_KEY:
            raise ConfigError(
                "SECRET_KEY is missing or still the development default: set SECRET_KEY "
                "to a long random value, for example the output of "
                "`python -c 'import secrets; print(secrets.token_urlsafe(48))'` (or put "
                "it in a file and set SECRET_KEY_FILE)."
            )
        if len(self.SECRET_KEY) < 32:
            raise ConfigError("SECRET_KEY is too short: use at least 32 random characters.")
        if (
            self.RATELIMIT_STORAGE_URI.startswith("memory://")
            and self.GUNICORN_WORKERS != 1
            and not self.RATELIMIT_ALLOW_MEMORY
        ):
            raise ConfigError(
                "RATELIMIT_STORAGE_URI is memory:// with several gunicorn workers: each "
                "worker would count alone and let several times the sign-in limit through. "
                "Set RATELIMIT_STORAGE_URI=redis://host:6379/0 (the compose stack runs "
                "redis), or GUNICORN_WORKERS=1, or RATELIMIT_ALLOW_MEMORY=1 to accept it."
            )
        if not self.PUBLIC_HOST:
            raise ConfigError(
                "SERVER_NAME is not set: set it to the host name people use for this "
                "site (for example bulletin.example.com). Links in emails use it, "
                "and requests for other hosts are refused."
            )


CONFIGS: dict[str, type[Config]] = {
    "development": DevelopmentConfig,
    "testing": TestingConfig,
    "production": ProductionConfig,
}


def load_config(name: str | None, env: Mapping[str, str]) -> Config:
    """Build the settings for ``name`` (or ``FLASK_CONFIG``) from ``env``."""
    name = name or env.get("FLASK_CONFIG") or "development"
    try:
        config_class = CONFIGS[name]
    except KeyError:
        choices = ", ".join(CONFIGS)
        raise ConfigError(f"FLASK_CONFIG={name!r} is not one of: {choices}.") from None
    config = config_class(env)
    config.check()
    return config
