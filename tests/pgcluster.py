"""A throw-away PostgreSQL server in a temporary folder, from Debian's packages.

Used by the test suite (``pytest --db postgresql`` without DATABASE_URL) and by
``bench/run --pg``. ``initdb`` refuses to run as root, so as root the cluster belongs to
the ``postgres`` system user that Debian's package creates.

    python -m tests.pgcluster start /tmp/pg   # prints the URL; stop with `stop /tmp/pg`
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
from pathlib import Path

USER = "chai"


def bin_dir() -> Path:
    """The newest installed server's binaries (Debian keeps them out of PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql).")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(args: list[str], owner: str | None) -> None:
    if owner:
        args = ["runuser", "-u", owner, "--", *args]
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _owner() -> str | None:
    if os.geteuid() != 0:
        return None
    pwd.getpwnam("postgres")  # KeyError: the package did not create its user
    return "postgres"


def start(base: Path, *, durable: bool = False) -> str:
    """Create and start a cluster under ``base``; return its SQLAlchemy URL.

    Tests run with ``fsync=off`` (a crash loses a throw-away cluster, nothing else);
    ``durable=True`` keeps PostgreSQL's defaults, for benchmarks.
    """
    base = Path(base)
    base.mkdir(parents=True, exist_ok=True)
    data = base / "data"
    owner = _owner()
    if owner:
        shutil.chown(base, owner)
        base.chmod(0o755)
    binaries = bin_dir()
    port = _free_port()
    _run([str(binaries / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
          "-E", "UTF8", "--locale=C.UTF-8"], owner)
    options = f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c max_connections=200"
    if not durable:
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    _run([str(binaries / "pg_ctl"), "-D", str(data), "-l", str(base / "server.log"), "-w",
          "-o", options, "start"], owner)
    (base / "port").write_text(str(port))
    return url_of(base)


def url_of(base: Path, database: str = "postgres") -> str:
    port = (Path(base) / "port").read_text().strip()
    return f"postgresql+psycopg://{USER}@127.0.0.1:{port}/{database}"


def stop(base: Path) -> None:
    data = Path(base) / "data"
    if (data / "postmaster.pid").exists():
        _run([str(bin_dir() / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], _owner())


if __name__ == "__main__":  # pragma: no cover - command-line use
    command, folder = sys.argv[1], Path(sys.argv[2])
    if command == "start":
        print(start(folder, durable="--durable" in sys.argv))
    elif command == "stop":
        stop(folder)
    else:
        raise SystemExit("usage: python -m tests.pgcluster start|stop FOLDER [--durable]")
