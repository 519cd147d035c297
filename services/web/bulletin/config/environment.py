"""Reading environment variables: one typed getter per kind of value, each
with the default its setting declares, and an error that names the variable.

The values that need parsing (host lists, the database URL, the limits'
storage) have a function each, so each rule lives once.
"""

from __future__ import annotations

import os
import re
import secrets
import socket
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TypeVar, overload
from urllib.parse import quote

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

Parsed = TypeVar("Parsed", int, float)


class ConfigError(RuntimeError):
    """A setting is missing or unsafe; the message names the variable to set."""


class Environment:
    """The variables a config is built from (``os.environ``, or a test's mapping).

    Every name asked for is kept in ``names_read``, so a test can prove that
    each one is documented in .env.example.
    """

    def __init__(self, variables: Mapping[str, str]) -> None:
        self.variables = variables
        self.names_read: set[str] = set()

    def raw(self, name: str) -> str:
        """The value as set, "" when unset."""
        self.names_read.add(name)
        return self.variables.get(name, "")

    @overload
    def text(self, name: str, default: str, *, empty_is_a_value: bool = False) -> str: ...
    @overload
    def text(
        self, name: str, default: str | None, *, empty_is_a_value: bool = False
    ) -> str | None: ...
    def text(self, name: str, default: str | None, *, empty_is_a_value: bool = False) -> str | None:
        """The value, or ``default`` when unset (or empty, unless ``empty_is_a_value``)."""
        value = self.raw(name)
        if value or (empty_is_a_value and name in self.variables):
            return value
        return default

    def integer(self, name: str, default: int) -> int:
        return self._parsed(name, default, int, "a whole number")

    def number(self, name: str, default: float) -> float:
        return self._parsed(name, default, float, "a number")

    def _parsed(
        self, name: str, default: Parsed, parse: Callable[[str], Parsed], kind: str
    ) -> Parsed:
        raw = self.raw(name)
        if raw == "":
            return default
        try:
            return parse(raw)
        except ValueError:
            raise ConfigError(f"{name} must be {kind}, got {raw!r}.") from None

    def minutes(self, name: str, default: timedelta) -> timedelta:
        return timedelta(minutes=self.integer(name, int(default.total_seconds() // 60)))

    def flag(self, name: str, default: bool) -> bool:
        raw = self.raw(name)
        if raw == "":
            return default
        return raw.strip().lower() in {"1", "true", "yes", "on"}

    def secret(self, name: str) -> str | None:
        """``name``, or the contents of the file ``<name>_FILE`` names, which wins.

        Docker and Kubernetes hand secrets over as files, so they never sit in
        the environment that `docker inspect` shows.
        """
        path = self.raw(f"{name}_FILE")
        if not path:
            return self.raw(name) or None
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
