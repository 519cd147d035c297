"""The backup service's rules that need no database: what is kept, when the
next backup runs, and settings refused with a message. The dumps, restores
and off-site copies run for real in tests/compose/test_operations.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.backup import bulletin_backup as backup


def name(when: datetime, suffix: str = "") -> str:
    return f"bulletin-{when:%Y%m%dT%H%M%SZ}{suffix}.dump"


def test_keeps_the_newest_of_each_recent_day_and_week():
    start = datetime(2026, 11, 1, tzinfo=UTC)  # a Sunday
    names = [name(start + timedelta(days=d, hours=h)) for d in range(40) for h in (3, 15)]
    kept = backup.kept(names, daily=7, weekly=4)
    newest_day = start + timedelta(days=39)
    dailies = {name(newest_day - timedelta(days=d) + timedelta(hours=15)) for d in range(7)}
    assert dailies <= kept
    # Four ISO weeks: the newest backup of each (the last day's for this week).
    weeks = {datetime.strptime(n[9:24], "%Y%m%dT%H%M%S").isocalendar()[:2] for n in kept}
    assert len(weeks) == 4
    # The newest of this week (Thu 10 Dec) and of last week (Sun 6 Dec) are
    # dailies already; the weeks ending Sun 29 and Sun 22 Nov add two.
    assert len(kept) == 7 + 2
    assert name(start + timedelta(hours=3)) not in kept


def test_always_keeps_the_newest_and_ignores_other_files():
    only = name(datetime(2026, 1, 1, tzinfo=UTC))
    assert backup.kept([only, "notes.txt", "status.json"], daily=0, weekly=0) == {only}


def test_the_next_run_follows_the_daily_times_or_the_interval():
    settings = backup.Settings.from_env({"BACKUP_SCHEDULE": "03:00, 15:30"})
    now = datetime(2026, 11, 27, 10, 0, tzinfo=UTC)
    assert backup.next_run(now, settings) == now.replace(hour=15, minute=30)
    late = now.replace(hour=16)
    assert backup.next_run(late, settings) == datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    every = backup.Settings.from_env({"BACKUP_INTERVAL": "6h"})
    assert backup.next_run(now, every) == now + timedelta(hours=6)


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"BACKUP_SCHEDULE": "3am"}, "write HH:MM in UTC"),
        ({"BACKUP_SCHEDULE": "25:00"}, "is not a time of day"),
        ({"BACKUP_INTERVAL": "soon"}, "is not a duration"),
        ({"BACKUP_KEEP_DAILY": "-1"}, "is not a whole number"),
    ],
)
def test_bad_settings_say_what_to_write(env, says):
    with pytest.raises(backup.BackupError, match=says):
        backup.Settings.from_env(env)


def test_durations():
    assert [backup.duration(t) for t in ("90", "90s", "30m", "6h", "1d")] == [
        90,
        90,
        1800,
        21600,
        86400,
    ]


def test_secrets_come_from_files_which_win(tmp_path):
    (tmp_path / "password").write_text("from-the-file\n")
    env = {"PGPASSWORD": "from-the-variable", "PGPASSWORD_FILE": str(tmp_path / "password")}
    backup.load_secret_files(env)
    assert env["PGPASSWORD"] == "from-the-file"


@pytest.mark.parametrize(("content", "says"), [(None, "cannot be read"), ("", "is empty")])
def test_a_missing_or_empty_secret_file_is_an_error(tmp_path, content, says):
    path = tmp_path / "key"
    if content is not None:
        path.write_text(content)
    with pytest.raises(backup.BackupError, match=says):
        backup.load_secret_files({"AWS_SECRET_ACCESS_KEY_FILE": str(path)})
