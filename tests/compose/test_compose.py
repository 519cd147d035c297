"""`docker compose up` from this checkout: the same checks as the loopback
stack through the published ports, then what only containers can show.

The lifecycle tests stop, restart and rebuild the project, so they run after
the checks (pytest keeps the order of the classes in this file).
"""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import threading
import time

import requests

from harness.compose import PRODUCTION, ROOT, Compose, make_secrets, write_env_file
from harness.waiting import free_port, wait_for
from tests.compose.conftest import PROJECT
from tests.https_checks import HttpsStackChecks, Stack, register_and_confirm
from tests.support import PASSWORD

# argon2 passes for the slow account: its sign-in takes several seconds.
SLOW_ARGON2_TIME_COST = "400"


class TestComposeStack(HttpsStackChecks):
    def test_development_keeps_no_page_in_nginx(self, stack: Stack):
        # PAGE_CACHE_SECONDS is 0 in development: a developer sees each change at once.
        probe = f"/?dev={secrets.token_hex(8)}"
        answers = [stack.get(probe) for _ in range(2)]
        assert [a.headers["X-Cache-Status"] for a in answers] == ["MISS", "MISS"]
        assert all("private" in a.headers["Cache-Control"] for a in answers)

    def test_migrations_ran_on_start(self, compose: Compose):
        # web and the worker start together; whichever takes the lock migrates.
        log = compose.logs("web") + compose.logs("worker")
        assert log.count("migrations: upgrading from an empty database") == 1, log[-5000:]
        assert log.count("migrations: upgraded to") == 1, log[-5000:]

    def test_load_smoke_run_passes(self, compose: Compose, stack: Stack):
        """`make load`, as before a release, for 20 seconds on seeded data."""
        seeded = compose.run(
            "exec",
            "-T",
            "web",
            "flask",
            "seed",
            "--users",
            "20",
            "--posts",
            "200",
            "--tasks",
            "100",
        ).stdout
        first = re.search(r"user(\d+)@example\.com to", seeded)
        assert first, seeded
        result = subprocess.run(
            [
                "make",
                "load",
                f"BASE_URL={stack.https_url}",
                "DURATION=20s",
                "CLIENTS=20",
                "SPAWN_RATE=10",
                "P95_MS=2000",
            ],
            env={
                **os.environ,
                "LOAD_CA_BUNDLE": str(stack.ca_file),
                "LOAD_FIRST_USER": first.group(1),
                "LOAD_USERS": "20",
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
        assert "load: OK" in result.stdout
        assert (ROOT / "loadtests/reports/load_stats.csv").exists()

    def test_gunicorn_port_is_not_published(self, compose: Compose):
        assert compose.run("port", "web", "8000", check=False).stdout.strip() in ("", ":0")


class TestComposeLifecycle:
    def test_stopped_app_shows_the_friendly_503_and_recovers(self, compose: Compose, stack: Stack):
        compose.run("stop", "web")
        try:
            response = stack.get("/")
            assert response.status_code == 503
            assert response.headers["Retry-After"] == "30"
            assert "back in a moment" in response.text
            HttpsStackChecks().assert_security_headers(stack, response)
            # nginx's health check is nginx's own: healthy without the app.
            assert stack.get("/nginx-health").status_code == 200
            health = compose.exec_in(
                "nginx",
                "curl",
                "--silent",
                "--fail",
                "--insecure",
                "https://127.0.0.1/nginx-health",
            )
            assert health == "ok\n"
        finally:
            compose.run("start", "web")
        compose.wait_healthy("web")
        wait_for(lambda: stack.get("/").status_code == 200, 30, "the home page answering again")

    def test_stopping_web_lets_a_slow_request_finish(self, compose: Compose, stack: Stack):
        email = f"slow_{secrets.token_hex(4)}@example.com"  # the username rule: no "-"
        compose.run(
            "exec",
            "-T",
            "-e",
            f"ARGON2_TIME_COST={SLOW_ARGON2_TIME_COST}",
            "web",
            "flask",
            "create-admin",
            email,
            email.split("@")[0],
            "--password-stdin",
            input=PASSWORD + "\n",
        )
        outcome: dict = {}

        def sign_in() -> None:
            started = time.monotonic()
            outcome["response"] = stack.session().post(
                stack.https_url + "/api/v1/tokens", auth=(email, PASSWORD), timeout=60
            )
            outcome["seconds"] = time.monotonic() - started

        request = threading.Thread(target=sign_in)
        request.start()
        time.sleep(1.0)  # the request is in the worker, hashing
        compose.run("stop", "web")
        request.join(timeout=60)
        compose.run("start", "web")
        compose.wait_healthy("web")
        response = outcome["response"]
        assert response.status_code == 201, response.text[:300]  # the token, created
        assert response.json()["token"]
        assert outcome["seconds"] > 1.0, "the request was not slow enough to overlap the stop"
        assert "Handling signal: term" in compose.logs("web")

    def test_data_survives_down_and_up(self, compose: Compose, stack: Stack):
        _, email = register_and_confirm(stack)
        compose.run("down")
        compose.run("up", "-d")
        compose.wait_healthy("web")
        compose.wait_healthy("nginx")
        token = stack.session().post(stack.https_url + "/api/v1/tokens", auth=(email, PASSWORD))
        assert token.status_code == 201
        assert "migrations: schema already at head" in compose.logs("web")

    def test_three_replicas_on_an_empty_database_migrate_once(self, compose: Compose, stack: Stack):
        compose.run("down", "--volumes")
        compose.run("up", "-d", "--scale", "web=3")
        compose.wait_healthy("web", replicas=3)
        compose.wait_healthy("nginx")
        # Three web replicas and the worker, one migration among them.
        log = compose.logs("web") + compose.logs("worker")
        assert log.count("migrations: upgraded to") == 1, log[-5000:]
        others = log.count("migrations: another replica upgraded") + log.count(
            "migrations: schema already at head"
        )
        assert others == 3, log[-5000:]
        assert not re.search(r"Traceback|\bERROR\b|\[ERROR\]", log), log[-5000:]
        for _ in range(6):  # nginx spreads requests over the three
            assert stack.get("/").status_code == 200


class TestProduction:
    """docker-compose.yml alone (COMPOSE_FILE=docker-compose.yml), as on a server."""

    def test_refuses_to_start_without_its_secrets(self, compose_cli, tmp_path):
        # Each missing setting stops the container that needs it, whose log says what to set.
        said = {
            "secret_key": ("web", "SECRET_KEY_FILE='/run/secrets/secret_key' is empty"),
            "SERVER_NAME": ("web", "SERVER_NAME is not set"),
            "postgres_password": ("db", "superuser password is not specified"),
        }
        for missing, (service, message) in said.items():
            folder = tmp_path / missing
            folder.mkdir()
            settings = make_secrets(folder, {"SERVER_NAME": "bulletin.example.com"})
            if missing == "SERVER_NAME":
                del settings["SERVER_NAME"]
            else:
                (folder / "secrets" / missing).write_text("")  # made, then emptied
            env_file = write_env_file(
                folder / "env", {"LOCAL_CERTS_DIR": str(tmp_path / "certs"), **settings}
            )
            project = Compose(compose_cli, PROJECT + "prod", env_file, PRODUCTION)
            try:
                project.run("up", "-d", "--no-deps", "redis", service, check=False)

                wait_for(
                    lambda p=project, s=service, m=message: m in p.logs(s),
                    90,
                    f"{service} saying {message!r}",
                )
            finally:
                project.run("down", "--volumes", check=False)

    def test_starts_hardened_with_its_secrets(self, compose_cli, tmp_path):
        ports = {"HTTP_PORT": str(free_port()), "HTTPS_PORT": str(free_port())}
        secret_key, database_password = secrets.token_urlsafe(48), secrets.token_urlsafe(16)
        settings = {"SECRET_KEY": secret_key, "POSTGRES_PASSWORD": database_password}
        env_file = write_env_file(
            tmp_path / "env",
            {
                **ports,
                "LOCAL_CERTS_DIR": str(tmp_path / "certs"),
                **make_secrets(tmp_path, settings),
                "SERVER_NAME": "localhost",
                "GUNICORN_WORKERS": "2",
            },
        )
        redis_password = (tmp_path / "secrets/redis_password").read_text().strip()
        project = Compose(compose_cli, PROJECT + "prod", env_file, PRODUCTION)
        try:
            project.run("up", "-d")
            project.wait_healthy("web")
            project.wait_healthy("nginx")
            response = requests.get(
                f"https://localhost:{ports['HTTPS_PORT']}/auth/login",
                verify=str(tmp_path / "certs/ca.crt"),
                timeout=10,
            )
            assert response.status_code == 200
            assert response.headers["Strict-Transport-Security"] == (
                "max-age=31536000; includeSubDomains"
            )
            for service, uid in (("web", "10001"), ("backup", "10002")):
                writable = project.run(
                    "exec", "-T", service, "sh", "-c", "touch /usr/x 2>&1; id -u", check=False
                ).stdout
                assert "Read-only file system" in writable, writable
                assert uid in writable, writable
            mounts = project.run("exec", "-T", "web", "sh", "-c", "ls /src 2>&1", check=False)
            assert mounts.returncode != 0, "production runs the image's code, not a checkout"
            log = project.logs("web")
            assert '"level": "INFO"' in log, "production logs are JSON"
            assert "Reloader is on" not in log
            request_id = response.headers["X-Request-ID"]

            def access_line() -> dict:
                for line in project.logs("web").splitlines():
                    if request_id in line and "gunicorn.access" in line:
                        return json.loads(line)
                return {}

            wait_for(access_line, 10, "gunicorn's access line for the request")
            line = access_line()
            assert line["request"].startswith("GET /auth/login ")
            assert line["status"] == "200"
            self._secrets_are_files_and_the_networks_apart(
                project, (secret_key, database_password, redis_password)
            )
        finally:
            project.run("down", "--volumes", check=False)

    @staticmethod
    def _secrets_are_files_and_the_networks_apart(project: Compose, values: tuple) -> None:
        # No secret in any container's configuration, which `docker inspect` shows.
        for service in ("web", "db", "redis", "backup", "nginx"):
            inspected = subprocess.run(
                ["docker", "inspect", project.containers(service)[0]],
                capture_output=True,
                text=True,
                check=True,
            ).stdout
            for value in values:
                assert value not in inspected, f"a secret in {service}'s docker inspect"
        # redis answers only with its password.
        refused = subprocess.run(
            ["docker", "exec", project.containers("redis")[0], "redis-cli", "ping"],
            capture_output=True,
            text=True,
        )
        assert "NOAUTH" in refused.stdout + refused.stderr, refused
        # What faces the internet cannot reach the database or redis.
        for name in ("db", "redis"):
            found = subprocess.run(
                ["docker", "exec", project.containers("nginx")[0], "getent", "hosts", name],
                capture_output=True,
            )
            assert found.returncode != 0, f"nginx resolves {name}"
        reach = ["docker", "exec", project.containers("nginx")[0], "getent", "hosts", "web"]
        assert subprocess.run(reach, capture_output=True).returncode == 0
