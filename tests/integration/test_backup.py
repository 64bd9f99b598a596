"""``flask backup`` copies the live database while it is being written, and ``flask
restore`` puts a copy back (services/backup.py), on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from models import OutboxMessage
from services import backup
from tests.conftest import session_for


class Writer(threading.Thread):
    """Commits one OutboxMessage per transaction until stopped; ``committed`` lists
    the ids whose commit returned, in order."""

    def __init__(self, app) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self.app = app
        self.committed: list[int] = []
        self.errors: list[BaseException] = []
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            with session_for(self.app) as session:
                while not self.stop.is_set():
                    message = OutboxMessage(recipient="w@example.com", subject="écriture", body_text="x")
                    session.add(message)
                    session.commit()
                    self.committed.append(message.id)
        except BaseException as exc:  # noqa: BLE001 — asserted by the test
            self.errors.append(exc)

    def wait_for(self, count: int, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while len(self.committed) < count and not self.errors:
            assert time.monotonic() < deadline, f"the writer committed {len(self.committed)} rows only"
            threading.Event().wait(0.01)


def outbox_ids(app) -> set[int]:  # type: ignore[no-untyped-def]
    with session_for(app) as session:
        return set(session.scalars(select(OutboxMessage.id)))


def test_a_backup_taken_under_writes_restores_every_row_committed_before_it(app, database, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "sauvegarde"
    writer = Writer(app)
    writer.start()
    try:
        writer.wait_for(20)
        before = list(writer.committed)
        result = runner.invoke(args=["backup", str(path)])
        assert result.exit_code == 0, result.output
        assert f"Sauvegarde écrite : {path}" in result.output
        at_backup_end = len(writer.committed)
        writer.wait_for(at_backup_end + 20)  # later writes, which the restore must undo
    finally:
        writer.stop.set()
        writer.join()
    assert writer.errors == []
    later = writer.committed[at_backup_end:]
    assert set(later) <= outbox_ids(app)

    result = runner.invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 0, result.output
    assert f"Base restaurée depuis {path}." in result.output

    restored = outbox_ids(app)
    assert set(before) <= restored  # everything committed before the backup started
    assert not set(later) & restored  # nothing committed after it ended
    assert restored <= set(writer.committed)  # and no row that was never committed
    with session_for(app) as session:  # the restored database takes writes (sequences too)
        session.add(OutboxMessage(recipient="apres@example.com", subject="après", body_text="x"))
        session.commit()
        if database.backend == "sqlite":
            assert session.execute(text("PRAGMA integrity_check")).scalar() == "ok"
            assert session.execute(text("PRAGMA journal_mode")).scalar() == "wal"
    if database.backend == "sqlite":
        with sqlite3.connect(path) as copy:  # the backup is one self-contained file
            assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert copy.execute("PRAGMA journal_mode").fetchone() == ("delete",)
        assert not Path(f"{path}-wal").exists()


def test_backup_without_a_path_writes_into_the_instance_backups_folder(app, database):
    result = app.test_cli_runner().invoke(args=["backup"])
    assert result.exit_code == 0, result.output
    written = list((database.instance_path / "backups").iterdir())
    suffix = ".sqlite3" if database.backend == "sqlite" else ".dump"
    assert len(written) == 1 and written[0].name.startswith("chai-") and written[0].suffix == suffix
    assert written[0].stat().st_size > 10_000 and str(written[0]) in result.output

    again = app.test_cli_runner().invoke(args=["backup", str(written[0])])
    assert again.exit_code == 1 and "existe déjà" in again.output


def test_restore_asks_first_and_a_no_changes_nothing(app, tmp_path):
    runner = app.test_cli_runner()
    path = tmp_path / "sauvegarde"
    assert runner.invoke(args=["backup", str(path)]).exit_code == 0
    with session_for(app) as session:
        session.add(OutboxMessage(recipient="garde@example.com", subject="à garder", body_text="x"))
        session.commit()
    kept = outbox_ids(app)

    result = runner.invoke(args=["restore", str(path)], input="n\n")
    assert "Remplacer toute la base" in result.output and "sera perdu" in result.output
    assert result.exit_code == 1 and "Restauration annulée" in result.output
    assert outbox_ids(app) == kept

    result = runner.invoke(args=["restore", str(path)], input="o\n")  # click wants y/n
    assert result.exit_code == 1 and outbox_ids(app) == kept
    result = runner.invoke(args=["restore", str(path)], input="y\n")
    assert result.exit_code == 0, result.output
    assert outbox_ids(app) == set()


@pytest.mark.parametrize("content", [b"", b"pas une sauvegarde\n" * 50, b"SQLite format 3\x00" + b"\x00" * 4000,
                                     b"PGDMP" + b"\x00" * 4000])
def test_restore_refuses_what_is_not_a_backup_of_this_database(app, tmp_path, content):
    with session_for(app) as session:
        count = session.scalar(select(func.count()).select_from(OutboxMessage))
        session.add(OutboxMessage(recipient="garde@example.com", subject="à garder", body_text="x"))
        session.commit()
    path = tmp_path / "faux"
    path.write_bytes(content)
    result = app.test_cli_runner().invoke(args=["restore", str(path), "--yes"])
    assert result.exit_code == 1, result.output
    assert result.output.startswith("Error: ") and "Traceback" not in result.output
    with session_for(app) as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == count + 1


def test_restore_of_a_missing_file_says_so(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["restore", str(tmp_path / "absent"), "--yes"])
    assert result.exit_code == 1 and "n'existe pas" in result.output


def test_postgresql_tools_get_the_password_in_their_environment_only():
    from sqlalchemy.engine import make_url

    url = make_url("postgresql+psycopg://chai:s3cret@db.example:6543/boutique?sslmode=require")
    env = backup._pg_environment(url)
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGPASSWORD"], env["PGDATABASE"], env["PGSSLMODE"]) == \
        ("db.example", "6543", "chai", "s3cret", "boutique", "require")
    assert "s3cret" not in backup.describe(url)
    assert Path(backup.pg_tool("pg_dump")).name == "pg_dump"
