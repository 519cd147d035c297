#!/usr/bin/python3
"""Backups of Bulletin's PostgreSQL database: dump, keep, copy off-site, restore.

    bulletin-backup run                 the service: a backup on each scheduled time
    bulletin-backup now                 one backup now (make backup)
    bulletin-backup list                the backups kept here
    bulletin-backup check FILE          is FILE a whole Bulletin backup?
    bulletin-backup restore FILE [--yes]   replace the database with FILE (make restore)
    bulletin-backup fetch NAME          copy an off-site backup back into the folder

Dumps are pg_dump's custom format, checked by reading them back whole before
they count. The connection comes from libpq's variables (PGHOST, PGUSER,
PGDATABASE, PGPASSWORD); the rest from BACKUP_* (see .env.example).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, MutableMapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

NAME = re.compile(r"^bulletin-(\d{8}T\d{6}Z)(-[a-z-]+)?\.dump(\.age)?$")
STAMP = "%Y%m%dT%H%M%SZ"
# Tables every Bulletin database has: a dump without them is someone else's.
REQUIRED_TABLES = ("alembic_version", "users", "posts")


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says what to do."""


def say(message: str) -> None:
    print(f"{datetime.now(UTC):%Y-%m-%dT%H:%M:%SZ} backup: {message}", flush=True)


def duration(text: str) -> float:
    """Seconds in "90", "90s", "30m", "6h" or "1d"."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise BackupError(f"{text!r} is not a duration: write 90s, 30m, 6h or 1d")
    return float(match[1]) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match[2]]


# Secrets the service reads; each also comes from the file <NAME>_FILE names
# (Docker and Kubernetes secrets), which wins over the variable.
SECRETS = ("PGPASSWORD", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")


def load_secret_files(env: MutableMapping[str, str]) -> None:
    """Put each <NAME>_FILE's contents in env[NAME], where libpq and boto3 look."""
    for name in SECRETS:
        path = env.get(f"{name}_FILE")
        if not path:
            continue
        try:
            value = Path(path).read_text().strip()
        except OSError as error:
            raise BackupError(
                f"{name}_FILE={path!r} cannot be read ({error.strerror}): mount the secret there"
            ) from None
        if not value:
            raise BackupError(f"{name}_FILE={path!r} is empty: put the {name} in it")
        env[name] = value


@dataclass
class Settings:
    folder: Path
    schedule: list[tuple[int, int]]
    interval: float | None
    retry_delay: float
    keep_daily: int
    keep_weekly: int
    age_recipient: str | None
    age_identity: str | None
    s3_bucket: str | None
    s3_prefix: str
    s3_endpoint: str | None
    s3_region: str | None
    database: str = field(default="bulletin")

    @classmethod
    def from_env(cls, env: dict[str, str]) -> Settings:
        schedule = []
        for item in (env.get("BACKUP_SCHEDULE") or "03:00").replace(" ", "").split(","):
            match = re.fullmatch(r"([01]?\d|2[0-3]):([0-5]\d)", item)
            if not match:
                raise BackupError(
                    f"BACKUP_SCHEDULE: {item!r} is not a time of day; write HH:MM in UTC, "
                    "e.g. 03:00 or 03:00,15:00"
                )
            schedule.append((int(match[1]), int(match[2])))

        def count(name: str, default: int) -> int:
            raw = env.get(name) or str(default)
            if not raw.isdigit():
                raise BackupError(f"{name}: {raw!r} is not a whole number")
            return int(raw)

        return cls(
            folder=Path(env.get("BACKUP_FOLDER") or "/backups"),
            schedule=sorted(schedule),
            interval=duration(env["BACKUP_INTERVAL"]) if env.get("BACKUP_INTERVAL") else None,
            retry_delay=duration(env.get("BACKUP_RETRY_DELAY") or "5m"),
            keep_daily=count("BACKUP_KEEP_DAILY", 7),
            keep_weekly=count("BACKUP_KEEP_WEEKLY", 4),
            age_recipient=env.get("BACKUP_AGE_RECIPIENT") or None,
            age_identity=env.get("BACKUP_AGE_IDENTITY_FILE") or None,
            s3_bucket=env.get("BACKUP_S3_BUCKET") or None,
            s3_prefix=env.get("BACKUP_S3_PREFIX", "bulletin/"),
            s3_endpoint=env.get("BACKUP_S3_ENDPOINT_URL") or None,
            s3_region=env.get("BACKUP_S3_REGION") or None,
            database=env.get("PGDATABASE") or "bulletin",
        )


# --- status, read by the web app's /metrics --------------------------------


def read_status(settings: Settings) -> dict:
    try:
        return json.loads((settings.folder / "status.json").read_text())
    except (OSError, ValueError):
        return {}


def write_status(settings: Settings, **changes: object) -> None:
    """Replace status.json whole; on a full disk, rewrite it in place (its own
    blocks are free again once truncated), so the failure still shows."""
    text = json.dumps({**read_status(settings), **changes})
    path = settings.folder / "status.json"
    partial = settings.folder / ".status.json.partial"
    try:
        partial.write_text(text)
        partial.chmod(0o644)  # the web app reads it for /metrics
        partial.replace(path)
    except OSError:
        partial.unlink(missing_ok=True)
        try:
            path.write_text(text)
        except OSError as error:
            say(f"could not record the status in {settings.folder}: {error}")


# --- dump, check, keep ------------------------------------------------------


def run(command: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise BackupError(f"{command[0]} failed: {' / '.join(detail[-3:]) or result.returncode}")
    return result


def watch_size(path: Path, done: threading.Event, verb: str) -> None:
    """Progress of long work: the size of the file being written, every 10 s."""
    while not done.wait(10):
        if path.exists():
            say(f"{verb} {path.stat().st_size / 1e6:.1f} MB so far")


def check(path: Path, settings: Settings) -> None:
    """Refuse a file that is not a whole Bulletin dump: pg_restore reads every
    byte of it (a truncated file fails here), and its tables must be ours."""
    if not path.is_file():
        raise BackupError(f"{path}: no such file (bulletin-backup list shows what is kept)")
    listing = run(["pg_restore", "--list", str(path)]).stdout
    missing = [t for t in REQUIRED_TABLES if not re.search(rf" TABLE public {t} ", listing)]
    if missing:
        raise BackupError(
            f"{path.name} is not a Bulletin backup (no table {', '.join(missing)}); "
            "nothing was changed"
        )
    run(["pg_restore", "--file", os.devnull, str(path)])


def take_backup(settings: Settings, suffix: str = "") -> Path:
    """Dump, check, keep: the dump counts only once it reads back whole."""
    name = f"bulletin-{datetime.now(UTC):{STAMP}}{suffix}.dump"
    final = settings.folder / name
    partial = settings.folder / f".{name}.partial"
    say(f"dumping database {settings.database} to {final}")
    started = time.monotonic()
    done = threading.Event()
    threading.Thread(target=watch_size, args=(partial, done, "written"), daemon=True).start()
    try:
        run(["pg_dump", "--format=custom", "--file", str(partial)])
        check(partial, settings)
        partial.replace(final)
    except BackupError:
        partial.unlink(missing_ok=True)
        raise
    finally:
        done.set()
    say(f"{final.name}: {final.stat().st_size / 1e6:.1f} MB in {time.monotonic() - started:.1f} s")
    return final


def kept(names: Iterable[str], daily: int, weekly: int) -> set[str]:
    """The newest backup of each of the last `daily` days and `weekly` ISO weeks
    that have one, and always the newest of all."""
    stamped = sorted(
        ((datetime.strptime(m[1], STAMP), n) for n in names if (m := NAME.match(n))),
        reverse=True,
    )
    keep: set[str] = {stamped[0][1]} if stamped else set()
    for limit, period in ((daily, lambda d: d.date()), (weekly, lambda d: d.isocalendar()[:2])):
        seen: list[object] = []
        for stamp, name in stamped:
            key = period(stamp)
            if key not in seen:
                if len(seen) == limit:
                    break
                seen.append(key)
                keep.add(name)
    return keep


def prune(settings: Settings) -> None:
    names = [p.name for p in settings.folder.iterdir() if NAME.match(p.name)]
    # Safety copies taken before a restore are the operator's to remove.
    regular = [n for n in names if (m := NAME.match(n)) and not m[2]]
    for name in sorted(set(regular) - kept(regular, settings.keep_daily, settings.keep_weekly)):
        (settings.folder / name).unlink()
        say(f"removed {name} (older than the retention)")


# --- off-site ---------------------------------------------------------------


def s3_client(settings: Settings):
    import boto3

    return boto3.client("s3", endpoint_url=settings.s3_endpoint, region_name=settings.s3_region)


def copy_off_site(path: Path, settings: Settings) -> None:
    """Upload the dump (encrypted to BACKUP_AGE_RECIPIENT when set) and apply
    the same retention to the copies there."""
    upload, name = path, path.name
    with tempfile.TemporaryDirectory(dir=settings.folder, prefix=".upload-") as scratch:
        if settings.age_recipient:
            name += ".age"
            upload = Path(scratch) / name
            run(
                [
                    "age",
                    "--encrypt",
                    "--recipient",
                    settings.age_recipient,
                    "-o",
                    str(upload),
                    str(path),
                ]
            )
        client = s3_client(settings)
        key = settings.s3_prefix + name
        try:
            client.upload_file(str(upload), settings.s3_bucket, key)
            listing = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=settings.s3_prefix)
            remote = [o["Key"][len(settings.s3_prefix) :] for o in listing.get("Contents", [])]
            regular = [n for n in remote if (m := NAME.match(n)) and not m[2]]
            for old in set(regular) - kept(regular, settings.keep_daily, settings.keep_weekly):
                client.delete_object(Bucket=settings.s3_bucket, Key=settings.s3_prefix + old)
        except Exception as error:  # botocore's errors have no common base worth naming
            raise BackupError(f"copy to s3://{settings.s3_bucket}/{key} failed: {error}") from None
    say(f"copied to s3://{settings.s3_bucket}/{key}")


def fetch(name: str, settings: Settings) -> Path:
    if not settings.s3_bucket:
        raise BackupError("BACKUP_S3_BUCKET is not set: there is no off-site copy to fetch")
    target = settings.folder / name
    try:
        s3_client(settings).download_file(
            settings.s3_bucket, settings.s3_prefix + name, str(target)
        )
    except Exception as error:
        raise BackupError(f"could not fetch {settings.s3_prefix + name}: {error}") from None
    say(f"fetched {name} into {settings.folder}")
    return target


# --- one backup, the schedule ----------------------------------------------


def backup_once(settings: Settings) -> bool:
    """One whole backup; a failure is logged and counted, never raised."""
    try:
        path = take_backup(settings)
        write_status(settings, last_success=time.time(), last_file=path.name)
        prune(settings)
        if settings.s3_bucket:
            copy_off_site(path, settings)
            write_status(settings, last_offsite_success=time.time())
        return True
    except (BackupError, OSError) as error:
        failures = int(read_status(settings).get("failures") or 0) + 1
        write_status(settings, failures=failures, last_failure=time.time(), last_error=str(error))
        say(f"FAILED: {error}")
        return False


def next_run(now: datetime, settings: Settings) -> datetime:
    if settings.interval:
        return now + timedelta(seconds=settings.interval)
    today = [now.replace(hour=h, minute=m, second=0, microsecond=0) for h, m in settings.schedule]
    return min([t for t in today if t > now] or [t + timedelta(days=1) for t in today])


def serve(settings: Settings) -> None:
    when = (
        "every " + os.environ["BACKUP_INTERVAL"]
        if settings.interval
        else ("daily at " + ", ".join(f"{h:02}:{m:02}" for h, m in settings.schedule) + " UTC")
    )
    say(
        f"backing up {when} into {settings.folder}"
        + (
            f", copies to s3://{settings.s3_bucket}/{settings.s3_prefix}"
            if settings.s3_bucket
            else ""
        )
    )
    due = next_run(datetime.now(UTC), settings)
    while True:
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
        if backup_once(settings):
            due = next_run(datetime.now(UTC), settings)
        else:
            retry = datetime.now(UTC) + timedelta(seconds=settings.retry_delay)
            due = min(retry, next_run(datetime.now(UTC), settings))
            say(f"retrying at {due:%H:%M:%S} UTC")


# --- restore -----------------------------------------------------------------


def confirmed(path: Path, settings: Settings, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        raise BackupError(
            "refusing to restore without confirmation: add --yes "
            "(make restore BACKUP=<file> CONFIRM=yes)"
        )
    print(f"This replaces every table of database {settings.database!r} with {path.name}.")
    return input(f"Type {settings.database} to go on: ").strip() == settings.database


def restore(path: Path, settings: Settings, yes: bool) -> None:
    """Check first, keep a copy of what is there, then replace it in one
    transaction: a restore that fails leaves the database as it was."""
    if not path.is_absolute() and not path.exists():
        path = settings.folder / path
    with tempfile.TemporaryDirectory(dir=settings.folder, prefix=".restore-") as scratch:
        if path.name.endswith(".age"):
            if not settings.age_identity:
                raise BackupError(
                    f"{path.name} is encrypted: set BACKUP_AGE_IDENTITY_FILE to the age key file"
                )
            plain = Path(scratch) / path.name.removesuffix(".age")
            run(
                [
                    "age",
                    "--decrypt",
                    "--identity",
                    settings.age_identity,
                    "-o",
                    str(plain),
                    str(path),
                ]
            )
            path = plain
        say(f"checking {path.name}")
        check(path, settings)
        if not confirmed(path, settings, yes):
            raise BackupError("not confirmed: nothing was changed")
        safety = take_backup(settings, suffix="-before-restore")
        say(f"the database as it was is kept in {safety.name}")
        say(f"restoring {path.name} into {settings.database}")
        # --verbose: one line per table, the progress of a long restore.
        restored = subprocess.run(
            [
                "pg_restore",
                "--clean",
                "--if-exists",
                "--no-owner",
                "--single-transaction",
                "--exit-on-error",
                "--verbose",
                "--dbname",
                settings.database,
                str(path),
            ],
            check=False,
        )
        if restored.returncode != 0:
            raise BackupError(
                f"pg_restore failed (see above); the database was left as it was, and "
                f"{safety.name} holds a copy of it"
            )
    say(f"restored {path.name}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bulletin-backup", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("run", help="the service: back up on the schedule")
    commands.add_parser("now", help="one backup now")
    commands.add_parser("list", help="the backups kept here")
    for name in ("check", "restore"):
        command = commands.add_parser(name)
        command.add_argument("file", type=Path)
        if name == "restore":
            command.add_argument("--yes", action="store_true", help="do not ask")
    commands.add_parser("fetch").add_argument("name")
    args = parser.parse_args(argv)
    os.umask(0o077)  # dumps hold every password hash: this user's alone
    try:
        load_secret_files(os.environ)
        settings = Settings.from_env(dict(os.environ))
        if args.command == "run":
            serve(settings)
        elif args.command == "now":
            return 0 if backup_once(settings) else 1
        elif args.command == "list":
            for path in sorted(settings.folder.glob("bulletin-*.dump*")):
                print(f"{path.name}  {path.stat().st_size / 1e6:.1f} MB")
        elif args.command == "check":
            check(args.file if args.file.exists() else settings.folder / args.file, settings)
            say(f"{args.file.name} is a whole Bulletin backup")
        elif args.command == "restore":
            restore(args.file, settings, args.yes)
        elif args.command == "fetch":
            fetch(args.name, settings)
    except BackupError as error:
        say(f"error: {error}")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
