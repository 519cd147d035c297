import pytest

from bulletin import create_app
from bulletin.config import DEV_SECRET_KEY, ConfigError, load_config

STRONG_KEY = "k" * 48
PRODUCTION = {
    "SECRET_KEY": STRONG_KEY,
    "SERVER_NAME": "bulletin.example.com",
    "RATELIMIT_STORAGE_URI": "redis://redis:6379/0",
}


@pytest.mark.parametrize(
    "env", [{}, {"SECRET_KEY": ""}, {"SECRET_KEY": DEV_SECRET_KEY}, {"SECRET_KEY": "short"}]
)
def test_production_refuses_a_missing_or_default_secret_key(env):
    with pytest.raises(ConfigError, match="SECRET_KEY"):
        load_config("production", env)


def test_production_starts_with_a_real_secret_key():
    config = load_config("production", PRODUCTION)
    assert config.SESSION_COOKIE_SECURE
    assert config.REMEMBER_COOKIE_SECURE
    assert config.PREFERRED_URL_SCHEME == "https"


def test_config_name_comes_from_flask_config():
    assert load_config(None, {"FLASK_CONFIG": "testing"}).TESTING is True
    assert load_config(None, {}).DEBUG is True  # development by default


def test_unknown_config_name_is_named_in_the_error():
    with pytest.raises(ConfigError, match="FLASK_CONFIG='staging'"):
        load_config("staging", {})


def test_bad_number_names_the_variable():
    with pytest.raises(ConfigError, match="POSTS_PER_PAGE"):
        load_config("development", {"POSTS_PER_PAGE": "ten"})


def test_heroku_style_postgres_url_is_accepted():
    config = load_config("development", {"DATABASE_URL": "postgres://u:p@db/bulletin"})
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql://u:p@db/bulletin"


def test_sqlite_file_in_instance_folder_is_the_default(monkeypatch):
    monkeypatch.delenv("DATABASE_URL", raising=False)
    app = create_app("development")
    assert app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///")
    assert app.config["SQLALCHEMY_DATABASE_URI"].endswith("/instance/bulletin.sqlite")


def test_wsgi_module_exposes_app_and_application(monkeypatch):
    monkeypatch.setenv("FLASK_CONFIG", "testing")
    from bulletin import wsgi

    assert wsgi.app is wsgi.application


def test_production_hashes_passwords_at_owasp_strength(monkeypatch):
    """The suites use a cheap argon2 cost; an app built for production must not."""
    from bulletin.core.passwords import hash_password

    monkeypatch.setenv("SECRET_KEY", STRONG_KEY)
    monkeypatch.setenv("SERVER_NAME", "bulletin.example.com")
    monkeypatch.setenv("GUNICORN_WORKERS", "1")
    for name in ("ARGON2_MEMORY_KIB", "ARGON2_TIME_COST", "ARGON2_PARALLELISM"):
        monkeypatch.delenv(name, raising=False)
    app = create_app("production", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    with app.app_context():
        assert hash_password("a long passphrase").startswith("$argon2id$v=19$m=19456,t=2,p=1$")
    testing = create_app("testing")
    with testing.app_context():
        assert hash_password("a long passphrase").startswith("$argon2id$v=19$m=64,t=1,p=1$")


@pytest.mark.parametrize(
    ("settings", "refused"),
    [
        ({"RATELIMIT_STORAGE_URI": ""}, True),  # memory:// by default, workers by CPU count
        ({"RATELIMIT_STORAGE_URI": "memory://", "GUNICORN_WORKERS": "3"}, True),
        ({"RATELIMIT_STORAGE_URI": "memory://", "GUNICORN_WORKERS": "1"}, False),
        ({"RATELIMIT_STORAGE_URI": "memory://", "RATELIMIT_ALLOW_MEMORY": "1"}, False),
        ({"RATELIMIT_STORAGE_URI": "redis://redis:6379/0", "GUNICORN_WORKERS": "9"}, False),
    ],
)
def test_production_refuses_per_worker_rate_limit_counts(settings, refused):
    env = {**PRODUCTION, **settings}
    if refused:
        with pytest.raises(ConfigError, match="RATELIMIT_STORAGE_URI=redis://"):
            load_config("production", env)
    else:
        load_config("production", env)


def test_production_requires_server_name():
    env = {k: v for k, v in PRODUCTION.items() if k != "SERVER_NAME"}
    with pytest.raises(ConfigError, match="SERVER_NAME is not set"):
        load_config("production", env)


def test_development_without_a_secret_key_generates_one_and_keeps_it(monkeypatch, tmp_path):
    """The old public default let anyone on the LAN sign a developer's API tokens."""
    from bulletin.config import DEV_SECRET_KEY

    key_file = tmp_path / "state/secret_key"
    monkeypatch.setenv("GENERATED_SECRET_KEY_FILE", str(key_file))
    monkeypatch.setenv("SECRET_KEY", DEV_SECRET_KEY)  # as an old .env still says
    first = create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    monkeypatch.delenv("SECRET_KEY")
    again = create_app("development", {"SQLALCHEMY_DATABASE_URI": "sqlite://"})
    key = first.config["SECRET_KEY"]
    assert key != DEV_SECRET_KEY
    assert len(key) >= 48
    assert again.config["SECRET_KEY"] == key  # kept across restarts
    assert key_file.stat().st_mode & 0o777 == 0o600


def test_secret_files_win_and_say_what_is_wrong(tmp_path):
    key_file = tmp_path / "secret_key"
    key_file.write_text("k" * 40 + "\n")
    env = {**PRODUCTION, "SECRET_KEY": "ignored" * 6, "SECRET_KEY_FILE": str(key_file)}
    assert load_config("production", env).SECRET_KEY == "k" * 40
    with pytest.raises(ConfigError, match="SECRET_KEY_FILE='/nowhere' cannot be read"):
        load_config("production", {**env, "SECRET_KEY_FILE": "/nowhere"})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(ConfigError, match="is empty"):
        load_config("production", {**env, "SECRET_KEY_FILE": str(tmp_path / "empty")})
    url_file = tmp_path / "database_url"
    url_file.write_text("postgres://u:p@db/bulletin")
    config = load_config("production", {**PRODUCTION, "DATABASE_URL_FILE": str(url_file)})
    assert config.SQLALCHEMY_DATABASE_URI == "postgresql://u:p@db/bulletin"


def test_a_database_password_file_fills_in_the_urls_password(tmp_path):
    """One secret serves PostgreSQL (POSTGRES_PASSWORD_FILE) and the app (Swarm)."""
    password = tmp_path / "postgres_password"
    password.write_text("s3cret/with:odd@chars\n")
    env = {
        **PRODUCTION,
        "DATABASE_URL": "postgresql://bulletin@db:5432/bulletin",
        "DATABASE_PASSWORD_FILE": str(password),
    }
    uri = load_config("production", env).SQLALCHEMY_DATABASE_URI
    assert uri == "postgresql://bulletin:s3cret%2Fwith%3Aodd%40chars@db:5432/bulletin"
    with pytest.raises(ConfigError, match="DATABASE_URL is not: set both"):
        load_config("production", {**PRODUCTION, "DATABASE_PASSWORD": "x"})
    with pytest.raises(ConfigError, match="DATABASE_URL is not a URL") as refused:
        load_config("production", {**env, "DATABASE_URL": "not a url with secret"})
    assert "secret" not in str(refused.value)


def test_a_redis_password_file_fills_in_the_storage_uri(tmp_path):
    """The compose and Swarm stacks' redis asks for a password, from a secret file."""
    password = tmp_path / "redis_password"
    password.write_text("s3cret/with:odd@chars\n")
    env = {
        **PRODUCTION,
        "RATELIMIT_STORAGE_URI": "redis://redis:6379/0",
        "REDIS_PASSWORD_FILE": str(password),
    }
    uri = load_config("production", env).RATELIMIT_STORAGE_URI
    assert uri == "redis://:s3cret%2Fwith%3Aodd%40chars@redis:6379/0"
    with pytest.raises(ConfigError, match="keep one"):
        load_config("production", {**env, "RATELIMIT_STORAGE_URI": "redis://:x@redis:6379/0"})
    with pytest.raises(ConfigError, match="not a redis:// URI"):
        load_config("production", {**env, "RATELIMIT_STORAGE_URI": "memory://"})
