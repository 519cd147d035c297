"""Settings per environment, read from environment variables when the app is built.

One way to declare a setting: its default is a class attribute (an
environment that needs another default overrides the attribute), and the
constructor reads the variable with that attribute as its default. Nothing
here reads ``os.environ`` at import time: ``create_app`` passes the
environment in, so tests can build an app from a plain mapping.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from croniter import croniter

from ..runtime.connection_budget import DEFAULT_THREADS
from .environment import (
    ConfigError,
    Environment,
    database_url,
    host_names,
    storage_uri,
    this_machine,
)

# Shipped in .env.example until this release, so still in some .env files:
# production refuses it, development replaces it with a generated key.
DEV_SECRET_KEY = "dev-only-change-me"  # noqa: S105  (refused everywhere but tests)


# Names every deployment answers to: health checks and probes from inside the
# container or pod, and a developer's own browser.
LOOPBACK_HOSTS = ("localhost", ".localhost", "127.0.0.1")
# Names that only exist on a local network, accepted in development so that
# phones and laptops on the LAN reach `make dev` and the development stack.
LAN_SUFFIXES = (".local", ".lan", ".home.arpa", ".internal")
# Where jobs wait (JOB_QUEUE): in PostgreSQL for the worker, or run in place.
JOB_QUEUES = ("database", "inline")
# Longest page cache a setting may ask for (PAGE_CACHE_SECONDS).
MAX_PAGE_CACHE_SECONDS = 60


class Config:
    """Settings every environment shares, with their defaults."""

    ENV_NAME = "development"
    DEBUG = False
    TESTING = False

    # Unset in development: create_app generates one (GENERATED_SECRET_KEY_FILE).
    SECRET_KEY: str | None = None
    GENERATED_SECRET_KEY_FILE: str | None = None
    # None: the SQLite file in the app's instance folder (create_app).
    SQLALCHEMY_DATABASE_URI: str | None = None
    # No ping at every checkout: bulletin/runtime/pool.py pings only idle connections.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, bool | int] = {"pool_pre_ping": False}

    # Pages.
    MAX_CONTENT_LENGTH = 1024 * 1024
    POSTS_PER_PAGE = 20
    FOLLOWERS_PER_PAGE = 50
    COMMENTS_PER_PAGE = 30
    # How long nginx may answer visitors from one copy of the home page, a
    # post or a profile (bulletin/web/page_cache.py); 0: never shared, so a
    # developer sees each change at once.
    PAGE_CACHE_SECONDS = 0
    BOOTSTRAP_SERVE_LOCAL = True
    # Cache lifetime of files Flask serves itself (nginx serves /static/ in the
    # stack); None: Flask's default, revalidate each time.
    SEND_FILE_MAX_AGE_DEFAULT: int | None = None

    # Sessions and cookies.
    SESSION_COOKIE_SECURE = False
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    # Logging in again refreshes the remember cookie's lifetime.
    REMEMBER_COOKIE_REFRESH_EACH_REQUEST = False
    # A signed-in browser without "remember me" is signed out after this long
    # without a request (remembered ones last REMEMBER_COOKIE_DURATION).
    SESSION_IDLE_TIMEOUT = timedelta(minutes=120)
    # Security headers (runtime/headers.py). HSTS only reaches browsers over https;
    # short here: a developer's browser must not pin localhost for a year.
    HSTS_MAX_AGE = 300

    # Emailed links.
    CONFIRM_TOKEN_MAX_AGE = 24 * 3600
    RESET_TOKEN_MAX_AGE = 3600
    # A change of address is a change of credentials: as short as a reset.
    CHANGE_EMAIL_TOKEN_MAX_AGE = 3600
    # A data export's link works once, for this long (then the zip is pruned).
    EXPORT_LINK_MAX_AGE = 24 * 3600
    PREFERRED_URL_SCHEME = "http"
    # The public host in emailed links: SERVER_NAME, with HTTPS_PORT when the
    # stack publishes https elsewhere than 443. Never the request's Host
    # header, which the client chooses (password-reset link poisoning).
    # `flask run` (make dev) listens on port 5000.
    PUBLIC_HOST: str | None = "localhost:5000"

    # A second factor (authenticator app or passkey) required of moderators and
    # administrators: one without may sign in only to set one up, and gets no
    # API token.
    STAFF_SECOND_FACTOR = False

    # argon2id, at or above OWASP's minimum (m=19 MiB, t=2, p=1).
    ARGON2_MEMORY_KIB = 19 * 1024
    ARGON2_TIME_COST = 2
    ARGON2_PARALLELISM = 1

    # Mail.
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USE_TLS = True
    MAIL_USE_SSL = False
    MAIL_USERNAME: str | None = None
    MAIL_DEFAULT_SENDER = "Bulletin <noreply@localhost>"
    MAIL_SUBJECT_PREFIX = "[Bulletin] "
    # Flask-Mail's default is app.debug, which prints each SMTP session, the
    # mail and its links included, to the log.
    MAIL_DEBUG = False
    # A mail the SMTP server refuses, or cannot be reached for, is tried
    # again after 2, 4, 8 ... seconds (MAIL_RETRY_BACKOFF ** try): 15 tries
    # span about 18 hours of outage, then the job is dead until an
    # administrator retries it (`flask jobs retry`). Seconds the worker waits
    # on the SMTP server before it gives up on a try.
    MAIL_MAX_ATTEMPTS = 15
    MAIL_RETRY_BACKOFF = 2
    MAIL_TIMEOUT = 30

    # Jobs (bulletin/jobs). "database": kept in PostgreSQL, committed in the
    # same transaction as the change that asked for them, run by the worker
    # service (`flask jobs worker`). "inline": run in the process that asked,
    # right after that commit: the SQLite default and the test suites, with
    # no worker, no retry and no schedule. Unset: database on PostgreSQL.
    JOB_QUEUE: str | None = None
    JOB_WORKER_CONCURRENCY = 4
    # A worker without a heartbeat for this long is taken for dead, and the
    # jobs it held run again on another (SCHEDULE_RECOVER_STALLED).
    JOB_STALLED_SECONDS = 30
    # Finished jobs stay listed (`flask jobs list`) this long; dead ones stay
    # until retried or pruned by hand.
    JOB_KEEP_HOURS = 7 * 24
    # Periodic work, in cron syntax (a sixth field counts seconds): each runs
    # once per period, however many workers there are.
    SCHEDULE_PRUNE_SESSIONS = "17 3 * * *"
    SCHEDULE_PRUNE_JOBS = "47 3 * * *"
    SCHEDULE_RECOVER_STALLED = "* * * * *"

    # Rate limits. A window that moves with each request: a fixed one lets
    # twice the limit through across its boundary, and made the rate-limit
    # tests depend on the clock.
    # No X-RateLimit-* headers: they cost each limited request a second redis
    # round trip. A refusal says when to try again (Retry-After, errors.py).
    RATELIMIT_HEADERS_ENABLED = False
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_ALLOW_MEMORY = False
    # redis away: each process counts in memory meanwhile, so sign-in and the
    # limited routes keep answering (bulletin/core/throttle.py); Flask-Limiter
    # asks redis again now and then, and the shared counts resume.
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    # A redis that does not answer (a host gone, no reset) costs a request one
    # second, not a hung worker: then the in-memory counts take over.
    RATELIMIT_STORAGE_OPTIONS: dict[str, float] = {"socket_timeout": 1, "socket_connect_timeout": 1}
    # Sign-in, registration and reset requests per client address.
    AUTH_RATE_LIMIT = "10/minute"
    # Failed sign-ins per account, from any address (browsers that signed in
    # to the account before are exempt, so the owner is never locked out).
    ACCOUNT_SIGN_IN_LIMIT = "10/15 minutes"
    # Mails a person can trigger (resend confirmation, change email), per
    # user and per address: an inbox is not to be flooded.
    MAIL_RATE_LIMIT = "5/hour"
    # Mails to one address, whoever asks (resets, "someone tried to register"):
    # past it they are dropped silently, so nobody can flood an inbox.
    MAIL_RECIPIENT_LIMIT = "5/hour"
    API_WRITE_RATE_LIMIT = "120/minute"
    # Searches per address (the page and the API), and the longest one may
    # run before it is answered "narrow your search" (PostgreSQL).
    SEARCH_RATE_LIMIT = "30/minute"
    SEARCH_TIMEOUT_MS = 1000

    # JSON API: bearer tokens (signed JWTs), and flask-smorest's OpenAPI
    # document and interactive docs, from local files.
    API_TOKEN_TTL = 3600
    API_TITLE = "Bulletin API"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "/docs"
    OPENAPI_SWAGGER_UI_URL = "/api/v1/docs/assets/"

    # The server: gunicorn's workers (0: its default, 2 x CPUs + 1), to judge
    # memory:// and the connections budget (bulletin/runtime/connection_budget.py),
    # where each worker has one pool as large as the requests it serves at once.
    GUNICORN_WORKERS = 0
    WEB_REPLICAS = 1
    GUNICORN_THREADS = DEFAULT_THREADS
    DB_MAX_OVERFLOW = 2
    # Seconds of an outage requests wait through for a restarting PostgreSQL,
    # counted from its start, before the friendly 503 (runtime/pool.py); 0: never.
    DB_CONNECT_WAIT = 10.0
    # Behind nginx: how many proxies set each X-Forwarded-* header (0 = no
    # proxy, so clients cannot forge their address). Compose sets 1.
    PROXY_HOPS = 0

    # What happens: logs, error reports to Sentry (or a compatible service
    # such as GlitchTip) when a DSN is set, and the backup service's status
    # file, whose last good backup /metrics reports.
    LOG_FORMAT = "text"
    LOG_LEVEL = "INFO"
    SENTRY_DSN: str | None = None
    SENTRY_TRACES_SAMPLE_RATE = 0.0
    # Which build this is (the image sets it from the commit): in /healthz
    # and on each error report.
    RELEASE = "unknown"
    BACKUP_STATUS_FILE: str | None = None

    def __init__(self, env: Environment) -> None:
        self._read_secrets(env)
        self._read_pages(env)
        self._read_accounts_and_cookies(env)
        self._read_hosts(env)
        self._read_mail(env)
        self._read_jobs(env)
        self._read_limits(env)
        self._read_server(env)
        self._read_observability(env)

    def _read_secrets(self, env: Environment) -> None:
        self.SECRET_KEY = env.secret("SECRET_KEY") or self.SECRET_KEY
        if self.SECRET_KEY == DEV_SECRET_KEY and self.ENV_NAME == "development":
            self.SECRET_KEY = None
        self.GENERATED_SECRET_KEY_FILE = env.text(
            "GENERATED_SECRET_KEY_FILE", self.GENERATED_SECRET_KEY_FILE
        )
        self.SQLALCHEMY_DATABASE_URI = database_url(
            env.secret("DATABASE_URL"), env.secret("DATABASE_PASSWORD")
        )

    def _read_pages(self, env: Environment) -> None:
        self.MAX_CONTENT_LENGTH = env.integer("MAX_CONTENT_LENGTH", self.MAX_CONTENT_LENGTH)
        self.POSTS_PER_PAGE = env.integer("POSTS_PER_PAGE", self.POSTS_PER_PAGE)
        self.FOLLOWERS_PER_PAGE = env.integer("FOLLOWERS_PER_PAGE", self.FOLLOWERS_PER_PAGE)
        self.COMMENTS_PER_PAGE = env.integer("COMMENTS_PER_PAGE", self.COMMENTS_PER_PAGE)
        self.PAGE_CACHE_SECONDS = env.integer("PAGE_CACHE_SECONDS", self.PAGE_CACHE_SECONDS)
        if not 0 <= self.PAGE_CACHE_SECONDS <= MAX_PAGE_CACHE_SECONDS:
            raise ConfigError(
                f"PAGE_CACHE_SECONDS must be from 0 (off) to {MAX_PAGE_CACHE_SECONDS}: "
                "longer, visitors would wait too long to see a new post."
            )
        self.SEND_FILE_MAX_AGE_DEFAULT = env.integer("SEND_FILE_MAX_AGE", 0) or None

    def _read_accounts_and_cookies(self, env: Environment) -> None:
        self.SESSION_IDLE_TIMEOUT = env.minutes("SESSION_IDLE_MINUTES", self.SESSION_IDLE_TIMEOUT)
        self.CONFIRM_TOKEN_MAX_AGE = env.integer(
            "CONFIRM_TOKEN_MAX_AGE", self.CONFIRM_TOKEN_MAX_AGE
        )
        self.RESET_TOKEN_MAX_AGE = env.integer("RESET_TOKEN_MAX_AGE", self.RESET_TOKEN_MAX_AGE)
        self.CHANGE_EMAIL_TOKEN_MAX_AGE = env.integer(
            "CHANGE_EMAIL_TOKEN_MAX_AGE", self.CHANGE_EMAIL_TOKEN_MAX_AGE
        )
        self.EXPORT_LINK_MAX_AGE = env.integer("EXPORT_LINK_MAX_AGE", self.EXPORT_LINK_MAX_AGE)
        self.ARGON2_MEMORY_KIB = env.integer("ARGON2_MEMORY_KIB", self.ARGON2_MEMORY_KIB)
        self.ARGON2_TIME_COST = env.integer("ARGON2_TIME_COST", self.ARGON2_TIME_COST)
        self.ARGON2_PARALLELISM = env.integer("ARGON2_PARALLELISM", self.ARGON2_PARALLELISM)
        self.HSTS_MAX_AGE = env.integer("HSTS_MAX_AGE", self.HSTS_MAX_AGE)
        self.SESSION_COOKIE_SECURE = env.flag("SECURE_COOKIES", self.SESSION_COOKIE_SECURE)
        self.STAFF_SECOND_FACTOR = env.flag("STAFF_SECOND_FACTOR", self.STAFF_SECOND_FACTOR)
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE

    def _read_hosts(self, env: Environment) -> None:
        self.PREFERRED_URL_SCHEME = env.text("PREFERRED_URL_SCHEME", self.PREFERRED_URL_SCHEME)
        self.PUBLIC_HOST = env.text("SERVER_NAME", self.PUBLIC_HOST)
        https_port = env.text("HTTPS_PORT", "443")
        if self.PUBLIC_HOST and ":" not in self.PUBLIC_HOST and https_port != "443":
            self.PUBLIC_HOST = f"{self.PUBLIC_HOST}:{https_port}"
        # The Host headers the app answers (Flask refuses others with 400): the
        # loopback names, SERVER_NAME, the certificate's extra names, the Let's
        # Encrypt domains and ALLOWED_HOSTS. A leading dot allows subdomains.
        self.TRUSTED_HOSTS = [
            *LOOPBACK_HOSTS,
            *host_names(
                env.raw("SERVER_NAME"),
                env.raw("CERT_EXTRA_SANS"),
                env.raw("LETSENCRYPT_DOMAINS"),
                env.raw("ALLOWED_HOSTS"),
            ),
        ]

    def _read_mail(self, env: Environment) -> None:
        self.MAIL_SERVER = env.text("MAIL_SERVER", self.MAIL_SERVER)
        self.MAIL_PORT = env.integer("MAIL_PORT", self.MAIL_PORT)
        self.MAIL_USE_TLS = env.flag("MAIL_USE_TLS", self.MAIL_USE_TLS)
        self.MAIL_USE_SSL = env.flag("MAIL_USE_SSL", self.MAIL_USE_SSL)
        self.MAIL_USERNAME = env.text("MAIL_USERNAME", self.MAIL_USERNAME)
        self.MAIL_PASSWORD = env.secret("MAIL_PASSWORD")
        self.MAIL_DEFAULT_SENDER = env.text("MAIL_DEFAULT_SENDER", self.MAIL_DEFAULT_SENDER)
        # Set but empty means no prefix.
        self.MAIL_SUBJECT_PREFIX = env.text(
            "MAIL_SUBJECT_PREFIX", self.MAIL_SUBJECT_PREFIX, empty_is_a_value=True
        )

    def _read_jobs(self, env: Environment) -> None:
        self.MAIL_MAX_ATTEMPTS = env.integer("MAIL_MAX_ATTEMPTS", self.MAIL_MAX_ATTEMPTS)
        self.MAIL_RETRY_BACKOFF = env.integer("MAIL_RETRY_BACKOFF", self.MAIL_RETRY_BACKOFF)
        self.MAIL_TIMEOUT = env.integer("MAIL_TIMEOUT", self.MAIL_TIMEOUT)
        on_postgresql = (self.SQLALCHEMY_DATABASE_URI or "").startswith("postgres")
        default_queue = self.JOB_QUEUE or ("database" if on_postgresql else "inline")
        self.JOB_QUEUE = env.text("JOB_QUEUE", default_queue)
        if self.JOB_QUEUE not in JOB_QUEUES:
            raise ConfigError(
                f"JOB_QUEUE={self.JOB_QUEUE!r} is not one of: {', '.join(JOB_QUEUES)}."
            )
        for name in ("JOB_WORKER_CONCURRENCY", "JOB_STALLED_SECONDS", "JOB_KEEP_HOURS"):
            setattr(self, name, env.integer(name, getattr(self, name)))
        for name in ("SCHEDULE_PRUNE_SESSIONS", "SCHEDULE_PRUNE_JOBS", "SCHEDULE_RECOVER_STALLED"):
            schedule = env.text(name, getattr(self, name))
            if not croniter.is_valid(schedule):
                raise ConfigError(
                    f"{name}={schedule!r} is not a cron schedule: five fields, minute to "
                    "day of week (for example '17 3 * * *', daily at 03:17), and an "
                    "optional sixth for seconds."
                )
            setattr(self, name, schedule)

    def _read_limits(self, env: Environment) -> None:
        self.RATELIMIT_STORAGE_URI = storage_uri(
            env.secret("RATELIMIT_STORAGE_URI"), env.secret("REDIS_PASSWORD")
        )
        self.RATELIMIT_ALLOW_MEMORY = env.flag(
            "RATELIMIT_ALLOW_MEMORY", self.RATELIMIT_ALLOW_MEMORY
        )
        for name in (
            "AUTH_RATE_LIMIT",
            "ACCOUNT_SIGN_IN_LIMIT",
            "MAIL_RATE_LIMIT",
            "MAIL_RECIPIENT_LIMIT",
            "API_WRITE_RATE_LIMIT",
            "SEARCH_RATE_LIMIT",
        ):
            setattr(self, name, env.text(name, getattr(self, name)))
        self.SEARCH_TIMEOUT_MS = env.integer("SEARCH_TIMEOUT_MS", self.SEARCH_TIMEOUT_MS)
        self.API_TOKEN_TTL = env.integer("API_TOKEN_TTL", self.API_TOKEN_TTL)

    def _read_server(self, env: Environment) -> None:
        self.GUNICORN_WORKERS = env.integer("GUNICORN_WORKERS", self.GUNICORN_WORKERS)
        self.WEB_REPLICAS = env.integer("WEB_REPLICAS", self.WEB_REPLICAS)
        self.GUNICORN_THREADS = env.integer("GUNICORN_THREADS", self.GUNICORN_THREADS)
        self.DB_POOL_SIZE = env.integer("DB_POOL_SIZE", self.GUNICORN_THREADS)
        self.DB_MAX_OVERFLOW = env.integer("DB_MAX_OVERFLOW", self.DB_MAX_OVERFLOW)
        self.DB_CONNECT_WAIT = env.number("DB_CONNECT_WAIT", self.DB_CONNECT_WAIT)
        if self.SQLALCHEMY_DATABASE_URI and not self.SQLALCHEMY_DATABASE_URI.startswith("sqlite"):
            self.SQLALCHEMY_ENGINE_OPTIONS = {
                **self.SQLALCHEMY_ENGINE_OPTIONS,
                "pool_size": self.DB_POOL_SIZE,
                "max_overflow": self.DB_MAX_OVERFLOW,
            }
        self.PROXY_HOPS = env.integer("PROXY_HOPS", self.PROXY_HOPS)

    def _read_observability(self, env: Environment) -> None:
        self.LOG_FORMAT = env.text("LOG_FORMAT", self.LOG_FORMAT)
        self.LOG_LEVEL = env.text("LOG_LEVEL", self.LOG_LEVEL)
        self.SENTRY_DSN = env.secret("SENTRY_DSN")
        self.SENTRY_TRACES_SAMPLE_RATE = env.number(
            "SENTRY_TRACES_SAMPLE_RATE", self.SENTRY_TRACES_SAMPLE_RATE
        )
        self.RELEASE = env.text("BULLETIN_RELEASE", self.RELEASE)
        self.BACKUP_STATUS_FILE = env.text("BACKUP_STATUS_FILE", self.BACKUP_STATUS_FILE)

    def check(self) -> None:
        """Refuse settings that are unsafe for this environment."""


class DevelopmentConfig(Config):
    DEBUG = True

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        self.TRUSTED_HOSTS += [*LAN_SUFFIXES, *this_machine()]


class TestingConfig(Config):
    ENV_NAME = "testing"
    PUBLIC_HOST = "localhost"  # the test client's host
    TESTING = True
    SECRET_KEY = "testing-only-key"  # noqa: S105
    # Tests sign in far more often than a person; the rate-limit tests turn it on.
    RATELIMIT_ENABLED = False
    # Tests read the outbox right after the request; the job tests turn the
    # database queue on (tests/jobs).
    JOB_QUEUE = "inline"

    def __init__(self, env: Environment) -> None:
        super().__init__(env)
        # Whatever the environment says: the test suite passes the database it
        # wants and never touches the developer's or sends real mail.
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


def load_config(name: str | None, variables: Mapping[str, str]) -> Config:
    """Build the settings for ``name`` (or ``FLASK_CONFIG``) from ``variables``."""
    name = name or variables.get("FLASK_CONFIG") or "development"
    try:
        config_class = CONFIGS[name]
    except KeyError:
        choices = ", ".join(CONFIGS)
        raise ConfigError(f"FLASK_CONFIG={name!r} is not one of: {choices}.") from None
    config = config_class(Environment(variables))
    config.check()
    return config
