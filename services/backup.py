"""A consistent copy of the live database, and putting one back (``flask backup`` and
``flask restore``), while the shop keeps running.

* SQLite: SQLite's online backup API (:meth:`sqlite3.Connection.backup`), in one step.
  The copy is the snapshot of one read transaction: writers go on (WAL) and none of
  their half-done work gets in. A restore copies the file into the live database the
  same way: one write transaction that holds the database's write lock for the whole
  copy, so the web processes see the old database or the new one, never a mix (their
  writes wait on the busy timeout meanwhile).
* PostgreSQL: ``pg_dump -Fc`` (one snapshot) and ``pg_restore --clean --if-exists
  --no-owner --single-transaction`` (all or nothing). The password goes to the tools
  in ``PGPASSWORD``, never on their command line, which other users can read in ``ps``.

Restart the web server after a restore on PostgreSQL: its connections may hold
statements prepared against the tables that were dropped and recreated.
"""

from __future__ import annotations

import glob
import os
import shutil
import sqlite3
import subprocess
import urllib.parse
from datetime import datetime
from pathlib import Path

from sqlalchemy.engine import URL, Engine

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
BUSY_TIMEOUT_S = 15
#: libpq settings that may appear in a SQLAlchemy URL's query, and their variables.
_LIBPQ_QUERY = {"host": "PGHOST", "port": "PGPORT", "sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
                "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "connect_timeout": "PGCONNECT_TIMEOUT",
                "application_name": "PGAPPNAME", "options": "PGOPTIONS"}


class BackupError(Exception):
    """The backup or the restore did not happen; the message (French) says why."""


def default_path(instance_path: str | Path, url: URL, now: datetime) -> Path:
    """``instance/backups/chai-YYYYmmdd-HHMMSS.sqlite3`` (``.dump`` on PostgreSQL)."""
    suffix = ".sqlite3" if _backend(url) == "sqlite" else ".dump"
    return Path(instance_path) / "backups" / f"chai-{now:%Y%m%d-%H%M%S}{suffix}"


def backup(engine: Engine, path: Path) -> Path:
    """Write a consistent copy of ``engine``'s database to ``path`` (a new file).

    :raise BackupError: ``path`` exists, or the database or the tool failed.
    """
    path = Path(path)
    if path.exists():
        raise BackupError(f"Le fichier {path} existe déjà : choisissez un autre nom.")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")  # never a half-written file at `path`
    partial.unlink(missing_ok=True)
    try:
        if _backend(engine.url) == "sqlite":
            _sqlite_backup(_sqlite_file(engine.url), partial)
        else:
            _run_pg_tool("pg_dump", ["--format=custom", "--no-password", f"--file={partial}"], engine.url)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def restore(engine: Engine, path: Path) -> None:
    """Replace ``engine``'s database by the backup at ``path``. The caller has closed its
    own connections (``engine.dispose()``); a failed restore leaves the database as it was.

    :raise BackupError: ``path`` is not a backup of this kind of database, or the copy failed.
    """
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"Le fichier {path} n'existe pas.")
    with path.open("rb") as handle:
        head = handle.read(len(SQLITE_MAGIC))
    backend = _backend(engine.url)
    if backend == "sqlite":
        if not head.startswith(SQLITE_MAGIC):
            if head.startswith(PG_DUMP_MAGIC):
                raise BackupError(f"{path} est une sauvegarde PostgreSQL ; la base actuelle est SQLite.")
            raise BackupError(f"{path} n'est pas une sauvegarde SQLite.")
        _sqlite_restore(path, _sqlite_file(engine.url))
    else:
        if not head.startswith(PG_DUMP_MAGIC):
            if head.startswith(SQLITE_MAGIC):
                raise BackupError(f"{path} est une sauvegarde SQLite ; la base actuelle est PostgreSQL.")
            raise BackupError(f"{path} n'est pas une sauvegarde PostgreSQL (pg_dump -Fc).")
        database = engine.url.database or ""
        _run_pg_tool("pg_restore", ["--clean", "--if-exists", "--no-owner", "--single-transaction",
                                    "--no-password", f"--dbname={database}", str(path)], engine.url)


def describe(url: URL) -> str:
    """The database for a message: its file, or its URL without the password."""
    if _backend(url) == "sqlite":
        return url.database or ""
    return url.render_as_string(hide_password=True)


# ------------------------------------------------------------------------ SQLite


def _backend(url: URL) -> str:
    name = url.get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"Base {name} non prise en charge : seules SQLite et PostgreSQL le sont.")
    return name


def _sqlite_file(url: URL) -> Path:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file:"):
        raise BackupError("La base SQLite est en mémoire : il n'y a rien à sauvegarder.")
    return Path(database)


def _connect(path: Path, mode: str) -> sqlite3.Connection:
    """mode "rw" or "ro": never creates the file, as a plain connect would."""
    uri = f"file:{urllib.parse.quote(str(path.resolve()))}?mode={mode}"
    try:
        connection = sqlite3.connect(uri, uri=True, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_S * 1000}")
    except sqlite3.Error as exc:
        raise BackupError(f"Impossible d'ouvrir la base {path} : {exc}.") from exc
    return connection


def _sqlite_backup(source_path: Path, target: Path) -> None:
    if not source_path.is_file():
        raise BackupError(f"La base {source_path} n'existe pas.")
    source = _connect(source_path, "rw")
    try:
        copy = sqlite3.connect(target, isolation_level=None)
        try:
            source.backup(copy)  # pages=-1: the whole database in one step, one snapshot
            # The copy inherits WAL mode; a backup is better as one self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
        finally:
            copy.close()
    except sqlite3.Error as exc:
        raise BackupError(f"La sauvegarde a échoué : {exc}.") from exc
    finally:
        source.close()


def _sqlite_restore(backup_path: Path, live_path: Path) -> None:
    if not live_path.is_file():
        raise BackupError(f"La base {live_path} n'existe pas.")
    source = _connect(backup_path, "ro")
    try:
        try:
            verdict = source.execute("PRAGMA integrity_check").fetchone()[0]
            version = source.execute("SELECT version_num FROM alembic_version").fetchone()
        except sqlite3.Error as exc:
            raise BackupError(f"{backup_path} n'est pas une sauvegarde Chai lisible : {exc}.") from exc
        if verdict != "ok":
            raise BackupError(f"{backup_path} est endommagé (PRAGMA integrity_check : {verdict}).")
        if version is None:
            raise BackupError(f"{backup_path} ne contient pas de base Chai (aucune version de schéma).")
        live = _connect(live_path, "rw")
        try:
            # One step: the copy is one write transaction on the live database, under
            # its write lock from the first page to the last.
            source.backup(live)
        except sqlite3.Error as exc:
            raise BackupError(f"La restauration a échoué, la base n'a pas changé : {exc}.") from exc
        finally:
            live.close()
    finally:
        source.close()


# -------------------------------------------------------------------- PostgreSQL


def pg_tool(name: str) -> str:
    """``name`` (pg_dump, pg_restore) from PATH, else the newest of Debian's
    /usr/lib/postgresql/*/bin (a newer pg_dump reads older servers, not the reverse)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    candidates.sort(key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if candidates:
        return candidates[-1]
    raise BackupError(f"{name} est introuvable : installez le client PostgreSQL (paquet postgresql-client).")


def _pg_environment(url: URL) -> dict[str, str]:
    """The connection as libpq variables: nothing secret on the command line."""
    env = dict(os.environ)
    settings = {"PGHOST": url.host, "PGPORT": url.port, "PGUSER": url.username,
                "PGPASSWORD": url.password, "PGDATABASE": url.database}
    for key, value in url.query.items():
        if key in _LIBPQ_QUERY:
            settings[_LIBPQ_QUERY[key]] = value if isinstance(value, str) else value[-1]
    env.update({key: str(value) for key, value in settings.items() if value not in (None, "")})
    return env


def _run_pg_tool(name: str, args: list[str], url: URL) -> None:
    try:
        result = subprocess.run([pg_tool(name), *args], env=_pg_environment(url), stdin=subprocess.DEVNULL,
                                capture_output=True, text=True)
    except OSError as exc:
        raise BackupError(f"{name} n'a pas pu être lancé : {exc}.") from exc
    if result.returncode != 0:
        detail = (result.stderr or result.stdout).strip()
        raise BackupError(f"{name} a échoué (code {result.returncode}) : {detail}")
