"""Running the production stack for months: replicas nginx follows, an update
with no failed request, metrics and the monitoring profile's alerts, backups
with a restore drill, and the faults it survives. Everything goes through
the real containers, nginx and TLS.

The project runs from a copy of this checkout (the update test changes the
app there), with its own image names, backups in a small tmpfs of the host
(which the disk-full test fills), and moto as the off-site S3 store.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from cryptography import x509

from certs import generate_local_certs as local_certs
from harness.compose import PRODUCTION, Compose, copy_checkout, started
from harness.traffic import Traffic
from harness.waiting import free_port, wait_for
from tests.support import SignUps

PROJECT = "bulletinops"
FILES = (*PRODUCTION, "tests/compose/operations.yml")
PASSWORD = "an-operations-password"
BUCKET = "bulletin-backups"
# What the restore drill compares: every table a user's data lives in.
TABLES = ("users", "posts", "comments", "follows", "tasks")
WORKERS = 2
THREADS = 2
# How long a request waits for a restarting database (production's default):
# a request may take that long and then answer, so the client waits longer.
DB_CONNECT_WAIT = 10
ALERT_MAIL_TO = "operator@example.com"


@pytest.fixture(scope="module")
def backup_dir(tmp_path_factory) -> Iterator[Path]:
    """A 32 MB filesystem of its own, so one test can fill it."""
    if subprocess.run(["id", "-u"], capture_output=True, text=True).stdout.strip() != "0":
        pytest.skip("mounting the backup folder's tmpfs needs root (CI runs as root)")
    folder = tmp_path_factory.mktemp("backups")
    subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=32m,uid=10002,gid=10002,mode=0755", "tmpfs", folder],
        check=True,
    )
    try:
        yield folder
    finally:
        subprocess.run(["umount", "--lazy", folder], check=False)


@pytest.fixture(scope="module")
def ops(compose_cli, tmp_path_factory, backup_dir) -> Iterator[Compose]:
    checkout = copy_checkout(tmp_path_factory.mktemp("checkout"))
    monitoring_ports = {"PROMETHEUS_PORT": str(free_port()), "ALERTMANAGER_PORT": str(free_port())}
    with started(
        compose_cli,
        PROJECT,
        tmp_path_factory.mktemp("ops"),
        {
            "SECRET_KEY": secrets.token_urlsafe(48),
            "POSTGRES_PASSWORD": secrets.token_urlsafe(16),
            "SERVER_NAME": "localhost",
            "WEB_IMAGE": "bulletin-web-opstest",
            "GUNICORN_WORKERS": str(WORKERS),
            "GUNICORN_THREADS": str(THREADS),
            "DB_CONNECT_WAIT": str(DB_CONNECT_WAIT),
            "AUTH_RATE_LIMIT": "10000/minute",
            "API_WRITE_RATE_LIMIT": "1000000/minute",
            "NGINX_SIGN_IN_RATE": "1000r/s",
            "NGINX_SIGN_IN_BURST": "1000",
            "BACKUP_DIR": str(backup_dir),
            "BACKUP_S3_BUCKET": BUCKET,
            "BACKUP_S3_ENDPOINT_URL": "http://s3:5000",
            "BACKUP_S3_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            "BACKUP_RETRY_DELAY": "1h",
            "MAIL_SERVER": "maildev",
            "MAIL_PORT": "1025",
            "MAIL_USE_TLS": "false",
            # The monitoring profile, quick enough for a test: a scrape and an
            # evaluation every 2 s, alert mails a second after the first firing.
            **monitoring_ports,
            "ALERT_MAIL_TO": ALERT_MAIL_TO,
            "PROMETHEUS_SCRAPE_INTERVAL": "2s",
            "ALERT_GROUP_WAIT": "1s",
            "ALERT_GROUP_INTERVAL": "5s",
            "TLS_WATCH_INTERVAL": "2",
        },
        FILES,
        profiles=("monitoring",),
        root=checkout,
    ) as project:
        project.ports.update(monitoring_ports)
        ensure_bucket(project)
        project.run(
            "exec", "-T", "web", "flask", "seed", "--users", "5", "--posts", "60",
            "--tasks", "20", "--force", "--password", PASSWORD,
        )  # fmt: skip
        yield project


MAKE_BUCKET = (
    "import boto3; boto3.client('s3', endpoint_url='http://s3:5000')"
    f".create_bucket(Bucket='{BUCKET}')"
)


def ensure_bucket(project: Compose) -> None:
    """moto keeps buckets in memory: again after each `down`."""
    project.run("exec", "-T", "backup", "python3", "-c", MAKE_BUCKET)


def base_url(project: Compose) -> str:
    return f"https://localhost:{project.ports['HTTPS_PORT']}"


def ca_file(project: Compose) -> Path:
    assert project.local_certs
    return project.local_certs / "ca.crt"


def get(project: Compose, path: str) -> requests.Response:
    session = requests.Session()
    session.trust_env = False
    # A request may wait DB_CONNECT_WAIT for the database, then answer.
    return session.get(
        base_url(project) + path, verify=str(ca_file(project)), timeout=DB_CONNECT_WAIT + 30
    )


def api_token(project: Compose) -> str:
    session = requests.Session()
    session.trust_env = False
    response = session.post(
        base_url(project) + "/api/v1/tokens",
        auth=("user1@example.com", PASSWORD),
        verify=str(ca_file(project)),
        timeout=30,
    )
    assert response.status_code == 201, response.text
    return response.json()["token"]


def make(project: Compose, *args: str, answer: str | None = None) -> subprocess.CompletedProcess:
    """The Makefile's targets, pointed at this project; `answer` is typed at a prompt."""
    return subprocess.run(
        ["make", "--no-print-directory", f"COMPOSE={' '.join(project.base)}", *args],
        cwd=project.root,
        input=answer,
        capture_output=True,
        text=True,
        timeout=600,
    )


def deploy(project: Compose, **env: str) -> subprocess.CompletedProcess:
    """deploy/compose/compose-update of the project's checkout, as on a server."""
    return subprocess.run(
        [str(project.root / "deploy/compose/compose-update")],
        cwd=project.root,
        env={"PATH": "/usr/bin:/bin:/usr/local/bin", "COMPOSE": " ".join(project.base), **env},
        capture_output=True,
        text=True,
        timeout=900,
    )


def web_started_at(project: Compose) -> str:
    """When the web container last started: unchanged means nobody restarted it."""
    return subprocess.run(
        ["docker", "inspect", "--format", "{{.State.StartedAt}}", project.containers("web")[0]],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def psql(project: Compose, sql: str) -> str:
    return project.run(
        "exec", "-T", "db", "psql", "--username=bulletin", "--dbname=bulletin",
        "--no-align", "--tuples-only", "--command", sql,
    ).stdout.strip()  # fmt: skip


CHECKSUM = "SELECT count(*) || ' ' || coalesce(md5(string_agg(t::text, '|' ORDER BY t::text)), '')"


def contents(project: Compose) -> dict[str, str]:
    """Per table: its row count and a checksum of every row, in a fixed order."""
    return {table: psql(project, f"{CHECKSUM} FROM {table} t") for table in TABLES}


def scrape(project: Compose) -> str:
    """/metrics as Prometheus on the compose network would fetch it."""
    return project.run("exec", "-T", "nginx", "curl", "--silent", "http://web:8000/metrics").stdout


def metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{key}="{value}"' in line for key, value in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def mail_recipients(project: Compose) -> Counter:
    """How many mails MailDev holds for each address."""
    listing = project.exec_in("maildev", "wget", "-qO-", "http://127.0.0.1:1080/email")
    return Counter(to["address"] for mail in json.loads(listing) for to in mail["to"])


def served_by(containers: list[str], marker: str) -> list[int]:
    """How many access lines carrying `marker` each container logged."""
    counts = []
    for container in containers:
        log = subprocess.run(["docker", "logs", container], capture_output=True, text=True)
        counts.append((log.stdout + log.stderr).count(marker))
    return counts


class TestReplicas:
    def test_nginx_spreads_requests_over_every_replica(self, ops: Compose):
        original = ops.containers("web")
        ops.run("up", "-d", "--no-deps", "--no-recreate", "--scale", "web=2", "web")
        try:
            ops.wait_healthy("web", replicas=2)
            containers = ops.containers("web")
            marker = f"spread-{secrets.token_hex(4)}"

            def both_served() -> bool:
                for _ in range(20):
                    get(ops, f"/?{marker}")
                return all(served_by(containers, marker))

            # nginx sees the new replica once its DNS answer (5 s) expires.
            wait_for(both_served, 30, "requests reaching both replicas")
        finally:
            added = [c for c in ops.containers("web") if c not in original]
            subprocess.run(["docker", "rm", "-f", *added], capture_output=True)
            ops.wait_healthy("web")

    def test_nginx_follows_web_to_a_new_address(self, ops: Compose):
        old_address = ops.address("web")
        network = f"{PROJECT}_front"  # where nginx looks web up
        ops.run("stop", "web")
        # Another container takes an address while web is away, as any update
        # can cause: web comes back elsewhere.
        squatter = subprocess.run(
            ["docker", "run", "-d", "--rm", "--network", network,
             "--entrypoint", "sleep", "bulletin-web-opstest", "600"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        try:
            ops.run("rm", "-f", "web")
            ops.run("up", "-d", "--no-deps", "web")
            ops.wait_healthy("web")
            assert ops.address("web") != old_address
            started = time.monotonic()
            wait_for(lambda: get(ops, "/").status_code == 200, 30, "nginx reaching the new web")
            # Within nginx's DNS lifetime, not until nginx restarts.
            assert time.monotonic() - started < 15
        finally:
            subprocess.run(["docker", "rm", "-f", squatter], capture_output=True)


class TestDeploy:
    def test_an_update_serves_the_new_code_with_no_failed_request(self, ops: Compose):
        """Under load, and while people sign up: every confirmation mail they
        asked for arrives once, though the worker is replaced too."""
        wsgi = ops.root / "services/web/bulletin/wsgi.py"
        original = wsgi.read_text()
        wsgi.write_text(
            original
            + "\n\n@app.after_request\ndef _release(response):\n"
            + "    response.headers['X-Release'] = 'next'\n    return response\n"
        )
        worker_before = ops.containers("worker")
        try:
            traffic = Traffic(
                base_url(ops), ca_file(ops), token=api_token(ops), watch_header="X-Release"
            )
            with traffic, SignUps(base_url(ops), ca_file(ops)) as sign_ups:
                traffic.wait_for_answers(30)
                sign_ups.wait_for(3)
                deployed = deploy(ops)
                assert deployed.returncode == 0, deployed.stdout + deployed.stderr
                traffic.wait_for_answers(30)
                sign_ups.wait_for(3)
            assert traffic.failures == [], (traffic.answers, traffic.failures[:20])
            assert sign_ups.failures == [], sign_ups.failures[:10]
            assert ops.containers("worker") != worker_before  # replaced by the update
            asked = set(sign_ups.registered)
            wait_for(lambda: asked <= set(mail_recipients(ops)), 120, "every confirmation mail")
            received = mail_recipients(ops)
            assert {address: received[address] for address in asked} == dict.fromkeys(asked, 1)
            assert traffic.headers_seen["-"], traffic.headers_seen
            assert traffic.headers_seen["next"], traffic.headers_seen
            assert get(ops, "/").headers.get("X-Release") == "next"
            assert "deploy: done: 1 web container(s) on the new code" in deployed.stderr
        finally:
            wsgi.write_text(original)

    def test_an_update_that_never_gets_ready_leaves_the_old_code_serving(self, ops: Compose):
        wsgi = ops.root / "services/web/bulletin/wsgi.py"
        original = wsgi.read_text()
        wsgi.write_text(original + "\nraise RuntimeError('a release that cannot start')\n")
        before = ops.containers("web")
        try:
            with Traffic(base_url(ops), ca_file(ops)) as traffic:
                traffic.wait_for_answers(20)
                deployed = deploy(ops, DEPLOY_TIMEOUT="30")
                traffic.wait_for_answers(20)
            assert deployed.returncode == 1
            assert "not ready after 30 s" in deployed.stderr, deployed.stderr
            assert "a release that cannot start" in deployed.stderr, "its log is shown"
            assert "the old ones keep serving" in deployed.stderr
            assert ops.containers("web") == before
            assert traffic.failures == [], traffic.failures[:10]
        finally:
            wsgi.write_text(original)
            ops.run("build", "web")  # later tests recreate web from this image


class TestMetrics:
    def test_requests_are_summed_over_every_worker(self, ops: Compose):
        before = metric(scrape(ops), "bulletin_http_requests_total", endpoint="main.user")
        sent = 40
        for n in range(sent):  # each its own URL: nginx's page cache would answer repeats
            assert get(ops, f"/user/user1?n={n}").status_code == 200
        after = scrape(ops)
        assert metric(after, "bulletin_http_requests_total", endpoint="main.user") - before == sent
        assert metric(after, "bulletin_http_request_duration_seconds_count", endpoint="main.user")
        files = ops.exec_in("web", "sh", "-c", "ls /tmp/bulletin-metrics-*")
        pids = set(re.findall(r"_(\d+)\.db", files))
        assert len(pids) >= WORKERS, f"the workers' metric files: {files}"
        assert metric(after, "bulletin_db_pool_connections_open") >= 1
        assert "bulletin_backup_last_success_age_seconds" in after
        assert "bulletin_job_queue_depth" in after  # the worker's queue, read from the database

    def test_metrics_are_not_served_through_nginx(self, ops: Compose):
        for path in ("/metrics", "/%6detrics", "//metrics", "/metrics?x=1"):
            response = get(ops, path)
            assert response.status_code == 404, path
            assert "bulletin_http" not in response.text

    def test_nginx_counters_are_on_the_private_network_only(self, ops: Compose):
        status = ops.exec_in(
            "web", "python", "-c",
            "import urllib.request; print(urllib.request.urlopen('http://nginx:8081/stub_status').read().decode())",
        )  # fmt: skip
        assert "Active connections:" in status
        published = subprocess.run(
            ["docker", "port", ops.containers("nginx")[0]], capture_output=True, text=True
        ).stdout
        assert "8081" not in published, published
        assert "443" in published, published


def prometheus(project: Compose, path: str, **params: str) -> dict:
    """Prometheus's HTTP API, from the host as an operator reaches it (loopback)."""
    url = f"http://127.0.0.1:{project.ports['PROMETHEUS_PORT']}/api/v1/{path}"
    response = requests.get(url, params=params, timeout=10)
    response.raise_for_status()
    return response.json()["data"]


def web_targets(project: Compose) -> list[dict]:
    targets = prometheus(project, "targets", state="active")["activeTargets"]
    return [t for t in targets if t["labels"]["job"] == "bulletin-web"]


def alert_mails(project: Compose) -> list[str]:
    """The subjects of the mails Alertmanager sent, oldest first."""
    listing = json.loads(project.exec_in("maildev", "wget", "-qO-", "http://127.0.0.1:1080/email"))
    return [m["subject"] for m in listing if any(t["address"] == ALERT_MAIL_TO for t in m["to"])]


class TestMonitoring:
    def test_every_target_is_scraped_and_the_ports_face_the_host_only(self, ops: Compose):
        ops.wait_healthy("prometheus")
        ops.wait_healthy("alertmanager")

        def all_up() -> bool:
            targets = prometheus(ops, "targets", state="active")["activeTargets"]
            return len(targets) >= 9 and all(t["health"] == "up" for t in targets)

        wait_for(all_up, 60, "every scrape target up")
        jobs = {t["labels"]["job"] for t in prometheus(ops, "targets")["activeTargets"]}
        assert jobs == {
            "bulletin-web", "bulletin-readyz", "bulletin-tls", "postgres", "redis",
            "nginx", "prometheus", "alertmanager", "blackbox",
        }  # fmt: skip
        # Each exporter reaches what it watches, and each probe succeeds.
        for up in ("pg_up", "redis_up", "nginx_up", "probe_success"):
            wait_for(
                lambda up=up: (
                    [r["value"][1] for r in prometheus(ops, "query", query=up)["result"]]
                    in (["1"], ["1", "1"])
                ),
                30,
                f"{up} at 1",
            )
        assert len(prometheus(ops, "rules")["groups"]) == 4  # monitoring/alerts.yml, loaded
        for service in ("prometheus", "alertmanager"):
            published = subprocess.run(
                ["docker", "port", ops.containers(service)[0]], capture_output=True, text=True
            ).stdout.split()
            host_sides = [word for word in published if ":" in word and word[0].isdigit()]
            assert host_sides, published
            assert all(w.startswith("127.0.0.1:") for w in host_sides), published

    def test_a_scaled_web_is_followed_by_dns(self, ops: Compose):
        original = ops.containers("web")
        ops.run("up", "-d", "--no-deps", "--no-recreate", "--scale", "web=2", "web")
        try:
            ops.wait_healthy("web", replicas=2)

            def both_scraped() -> bool:
                targets = web_targets(ops)
                return len(targets) == 2 and all(t["health"] == "up" for t in targets)

            wait_for(both_scraped, 60, "Prometheus scraping both web replicas")
        finally:
            added = [c for c in ops.containers("web") if c not in original]
            subprocess.run(["docker", "rm", "-f", *added], capture_output=True)
            ops.wait_healthy("web")
        wait_for(lambda: len(web_targets(ops)) == 1, 60, "the removed replica dropped")

    def test_an_expiring_certificate_mails_an_alert_and_then_its_end(
        self, ops: Compose, monkeypatch
    ):
        """The fault a real host meets: the served certificate is days from its
        end (a renewal that keeps failing). nginx serves it, the TLS probe reads
        it, the alert fires and is mailed; a good certificate back, it resolves."""
        assert ops.local_certs
        server = ops.local_certs / local_certs.SERVER_DIR
        kept = {name: (server / name).read_bytes() for name in ("server.crt", "server.key")}
        ca_cert = x509.load_pem_x509_certificate((ops.local_certs / "ca.crt").read_bytes())
        monkeypatch.setattr(local_certs, "SERVER_LIFETIME", dt.timedelta(days=7))
        try:
            local_certs.make_server_cert(
                ops.local_certs,
                local_certs.parse_names("localhost", ""),
                ca_cert,
                local_certs._load_key(ops.local_certs / "ca.key"),
            )
            wait_for(
                lambda: "[FIRING:1] BulletinCertificateExpiring" in " ".join(alert_mails(ops)),
                120,
                "the BulletinCertificateExpiring mail",
            )
            # The critical alert holds back the warning of the same certificate.
            assert not any("RenewalFailing" in subject for subject in alert_mails(ops))
        finally:
            for name, content in kept.items():
                (server / name).write_bytes(content)
        wait_for(
            lambda: "[RESOLVED] BulletinCertificateExpiring" in " ".join(alert_mails(ops)),
            120,
            "the mail that BulletinCertificateExpiring resolved",
        )
        # The site kept serving throughout, on the good certificate again.
        assert get(ops, "/").status_code == 200


class TestBackups:
    def test_restore_drill_brings_back_identical_data(self, ops: Compose, backup_dir: Path):
        ensure_bucket(ops)
        made = make(ops, "backup")
        assert made.returncode == 0, made.stdout + made.stderr
        name = re.search(r"(bulletin-\d{8}T\d{6}Z\.dump)", made.stdout + made.stderr)[1]
        before = contents(ops)
        assert before["users"].split()[0] != "0"

        ops.run("down", "--volumes")  # the disk is lost; the backups were elsewhere
        ops.run("up", "-d")
        ops.wait_healthy("web")
        ops.wait_healthy("nginx")
        assert contents(ops) != before, "the database should start empty"

        restored = make(ops, "restore", f"BACKUP={name}", "CONFIRM=yes")
        assert restored.returncode == 0, restored.stdout + restored.stderr
        ops.wait_healthy("web")
        assert contents(ops) == before
        assert get(ops, "/user/user1").status_code == 200
        assert any(p.name.endswith("-before-restore.dump") for p in backup_dir.iterdir())

        metrics = scrape(ops)
        assert 0 < metric(metrics, "bulletin_backup_last_success_age_seconds") < 3600

    def test_a_truncated_or_foreign_file_is_refused_and_nothing_changes(
        self, ops: Compose, backup_dir: Path
    ):
        ensure_bucket(ops)
        assert make(ops, "backup").returncode == 0
        good = max(backup_dir.glob("bulletin-*Z.dump"))
        data = good.read_bytes()
        (backup_dir / "truncated.dump").write_bytes(data[: len(data) * 2 // 3])
        (backup_dir / "garbage.dump").write_bytes(b"not a backup at all\n" * 100)
        foreign = ops.run(
            "exec", "-T", "backup", "sh", "-c",
            # libpq reads PGPASSWORD, not the secret file the service is given.
            'PGPASSWORD="$(cat "$PGPASSWORD_FILE")" '
            "pg_dump --format=custom --dbname=postgres --file=/backups/foreign.dump && echo ok",
        )  # fmt: skip
        assert "ok" in foreign.stdout
        web_started = web_started_at(ops)
        before = contents(ops)
        for name, says in (
            ("truncated.dump", "pg_restore failed"),
            ("garbage.dump", "pg_restore failed"),
            ("foreign.dump", "is not a Bulletin backup"),
            ("missing.dump", "no such file"),
        ):
            result = make(ops, "restore", f"BACKUP={name}", "CONFIRM=yes")
            output = result.stdout + result.stderr
            assert result.returncode != 0, name
            assert says in output, (name, output[-2000:])
        assert contents(ops) == before
        assert web_started_at(ops) == web_started, "the web service was never stopped"
        unconfirmed = make(ops, "restore", f"BACKUP={good.name}", answer="no\n")
        assert unconfirmed.returncode != 0
        assert "not confirmed" in unconfirmed.stderr
        assert contents(ops) == before

    def test_off_site_copies_are_encrypted_and_restore(self, ops: Compose, backup_dir: Path):
        """age-encrypted copies in S3; the key's private half is only needed to restore."""
        ensure_bucket(ops)
        key = ops.run("exec", "-T", "backup", "age-keygen").stdout
        public = re.search(r"public key: (age1\w+)", key)[1]
        (backup_dir / "restore.key").write_text(key)
        taken = ops.run(
            "exec", "-T", "-e", f"BACKUP_AGE_RECIPIENT={public}", "backup", "bulletin-backup", "now"
        )
        assert "copied to s3://" in taken.stdout, taken.stdout + taken.stderr
        uploaded = re.search(r"s3://\S+/(bulletin-\S+\.dump\.age)", taken.stdout)[1]
        before = contents(ops)
        psql(ops, "DELETE FROM tasks")
        ops.run("exec", "-T", "backup", "bulletin-backup", "fetch", uploaded)
        assert (backup_dir / uploaded).read_bytes().startswith(b"age-encryption.org/v1")
        ops.run("stop", "web")
        try:
            ops.run(
                "exec", "-T", "-e", "BACKUP_AGE_IDENTITY_FILE=/backups/restore.key", "backup",
                "bulletin-backup", "restore", uploaded, "--yes",
            )  # fmt: skip
        finally:
            ops.run("start", "web")
            # Serving once healthy: gunicorn listens after it has imported the app (preload).
            ops.wait_healthy("web")
        assert contents(ops) == before
        assert metric(scrape(ops), "bulletin_backup_last_offsite_success_timestamp_seconds") > 0

    def test_a_full_backup_disk_fails_loudly_and_the_app_keeps_serving(
        self, ops: Compose, backup_dir: Path
    ):
        failures = metric(scrape(ops), "bulletin_backup_failures_total")
        filler = backup_dir / "filler"
        subprocess.run(
            ["dd", "if=/dev/zero", f"of={filler}", "bs=1M", "count=64"], capture_output=True
        )
        try:
            with Traffic(base_url(ops), ca_file(ops)) as traffic:
                traffic.wait_for_answers(20)
                result = make(ops, "backup")
                traffic.wait_for_answers(20)
            assert result.returncode != 0
            assert "FAILED" in result.stdout
            assert "No space left on device" in result.stdout
            assert traffic.failures == [], traffic.failures[:10]
            assert metric(scrape(ops), "bulletin_backup_failures_total") == failures + 1
            assert not list(backup_dir.glob(".*.partial")), "no half-written dump is left"
        finally:
            filler.unlink()


class TestPostgresUpgrade:
    """make pg-upgrade between two images. Only one PostgreSQL major exists on
    this team's machines, so the new image is another build of it: the flow
    (dump, kept volume, fresh data volume, restore, checksums) is the same."""

    NEW_IMAGE = "bulletin-test-postgres:next"

    @pytest.fixture
    def new_image(self, ops: Compose, tmp_path) -> Iterator[str]:
        old = self.db_image(ops)
        (tmp_path / "Dockerfile").write_text(f"FROM {old}\nLABEL bulletin.test=next-major\n")
        subprocess.run(
            ["docker", "build", "-q", "-t", self.NEW_IMAGE, str(tmp_path)],
            check=True, capture_output=True,
        )  # fmt: skip
        yield self.NEW_IMAGE
        kept = subprocess.run(
            ["docker", "volume", "ls", "-q", "--filter", "label=bulletin.pg-upgrade.image"],
            capture_output=True, text=True,
        ).stdout.split()  # fmt: skip
        subprocess.run(["docker", "volume", "rm", *kept], capture_output=True)

    @staticmethod
    def db_image(project: Compose) -> str:
        return subprocess.run(
            ["docker", "inspect", "--format", "{{.Config.Image}}", project.containers("db")[0]],
            capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip

    @staticmethod
    def env_file(project: Compose) -> Path:
        return Path(project.base[project.base.index("--env-file") + 1])

    def upgrade(self, project: Compose, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["make", "--no-print-directory", f"COMPOSE={' '.join(project.base)}", *args],
            cwd=project.root,
            env={**os.environ, "ENV_FILE": str(self.env_file(project))},
            capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    def test_an_unknown_image_is_refused_and_nothing_changes(self, ops: Compose):
        before = self.db_image(ops)
        result = self.upgrade(ops, "pg-upgrade", "POSTGRES_IMAGE=no-such-image:17")
        assert result.returncode != 0
        assert "no image no-such-image:17 here" in result.stderr
        assert self.db_image(ops) == before
        assert get(ops, "/readyz").status_code == 200

    def test_upgrade_keeps_every_row_and_rolls_back(self, ops: Compose, new_image: str):
        old_image = self.db_image(ops)
        before = contents(ops)
        upgraded = self.upgrade(ops, "pg-upgrade", f"POSTGRES_IMAGE={new_image}")
        assert upgraded.returncode == 0, upgraded.stderr[-3000:]
        assert self.db_image(ops) == new_image
        assert contents(ops) == before
        assert f"POSTGRES_IMAGE={new_image}" in self.env_file(ops).read_text()
        assert "4/5 comparing every table's count and checksum" in upgraded.stderr
        kept = re.search(r"old data files stay in (\S+):", upgraded.stderr)
        assert kept, upgraded.stderr
        labels = subprocess.run(
            ["docker", "volume", "inspect", "--format", "{{json .Labels}}", kept.group(1)],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert json.loads(labels)["bulletin.pg-upgrade.image"] == old_image
        ops.wait_healthy("web")
        assert api_token(ops)  # sign-in reads and writes on the new image

        rolled_back = self.upgrade(ops, "pg-upgrade-rollback")
        assert rolled_back.returncode == 0, rolled_back.stderr[-3000:]
        assert self.db_image(ops) == old_image
        # The data files as they were before the upgrade.
        assert contents(ops) == before
        ops.wait_healthy("web")
        assert get(ops, "/").status_code == 200


class TestFaults:
    def test_a_database_away_is_a_friendly_503(self, ops: Compose):
        web_started = web_started_at(ops)
        token = api_token(ops)
        get(ops, "/")
        assert get(ops, "/").headers["X-Cache-Status"] == "HIT"  # a visitor's copy in nginx
        ops.run("stop", "db")
        try:
            # A page nginx has a copy of is served from it, stale, while the app fails:
            # once the copy is past PAGE_CACHE_SECONDS (2) by nginx's clock.
            wait_for(
                lambda: get(ops, "/").headers["X-Cache-Status"] != "HIT", 30, "the copy expiring"
            )
            kept = get(ops, "/")
            assert kept.status_code == 200
            # STALE, or UPDATING while nginx's background refresh still waits
            # for the database (DB_CONNECT_WAIT): the old copy either way.
            assert kept.headers["X-Cache-Status"] in {"STALE", "UPDATING"}
            # ...and one it has not is the app's friendly 503.
            page = get(ops, f"/?while-down={secrets.token_hex(4)}")
            assert page.status_code == 503
            assert "Bulletin will be back in a moment" in page.text
            assert "Traceback" not in page.text
            assert page.headers["Retry-After"]
            ready = get(ops, "/readyz")
            assert ready.status_code == 503
            assert "database unreachable" in ready.json()["reason"]
            api = requests.get(
                base_url(ops) + "/api/v1/tasks",
                headers={"Authorization": f"Bearer {token}"},
                verify=str(ca_file(ops)),
                timeout=DB_CONNECT_WAIT + 30,
            )
            assert api.status_code == 503
            assert api.json()["error"] == "service_unavailable"
        finally:
            ops.run("start", "db")
        ops.wait_healthy("db")
        wait_for(lambda: get(ops, "/").status_code == 200, 30, "the home page answering again")
        assert get(ops, "/readyz").status_code == 200
        assert web_started_at(ops) == web_started, "web was not restarted"

    def test_a_database_restart_costs_no_request(self, ops: Compose):
        """`docker compose restart db` under a steady stream of reads and writes:
        requests wait for it (DB_CONNECT_WAIT), and one whose session the
        restart ended runs again, so no request fails and every acknowledged
        write is stored once."""
        web_started = web_started_at(ops)
        token = api_token(ops)
        tasks = "SELECT count(*) FROM tasks"
        before = int(psql(ops, tasks))
        with Traffic(base_url(ops), ca_file(ops), token=token) as traffic:
            traffic.wait_for_answers(30)
            began = time.monotonic()
            ops.run("restart", "db")
            ops.wait_healthy("db")
            restart_took = time.monotonic() - began
            traffic.wait_for_answers(60)
        said = [line for line in ops.logs("web").splitlines() if "database" in line]
        assert traffic.failures == [], (
            f"the restart took {restart_took:.1f} s to a healthy db; failed requests:\n"
            + "\n".join(traffic.failures[:20])
            + "\nweb said:\n"
            + "\n".join(said[-20:])
            + "\ndb said:\n"
            + ops.logs("db")[-3000:]
        )
        assert traffic.writes_acknowledged > 0
        assert int(psql(ops, tasks)) - before == traffic.writes_acknowledged
        assert web_started_at(ops) == web_started
        assert "Traceback" not in ops.logs("web")

    def test_a_killed_worker_is_replaced_and_the_others_keep_serving(self, ops: Compose):
        container = ops.containers("web")[0]

        def workers() -> list[str]:
            top = subprocess.run(
                ["docker", "top", container, "-o", "pid,ppid,args"],
                capture_output=True, text=True, check=True,
            ).stdout.splitlines()[1:]  # fmt: skip
            rows = [line.split(None, 2) for line in top if "gunicorn" in line]
            master = {pid for pid, ppid, _ in rows if ppid not in {p for p, _, _ in rows}}
            return [pid for pid, ppid, _ in rows if ppid in master]

        before = workers()
        assert len(before) == WORKERS, before
        with Traffic(base_url(ops), ca_file(ops)) as traffic:
            traffic.wait_for_answers(30)
            subprocess.run(["kill", "-KILL", before[0]], check=True)
            wait_for(
                lambda: len(workers()) == WORKERS and before[0] not in workers(),
                30,
                "gunicorn replacing the killed worker",
            )
            failed_by_then = len(traffic.failures)
            traffic.wait_for_answers(100)
        # Only what the killed worker held at that instant can fail: each
        # client has one request in flight at most. After that, none.
        assert failed_by_then <= traffic.clients, traffic.failures
        assert len(traffic.failures) == failed_by_then, traffic.failures
        assert "SIGKILL" in ops.logs("web"), "gunicorn reports the lost worker"
