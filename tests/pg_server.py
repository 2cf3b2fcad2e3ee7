"""Start a throwaway PostgreSQL server on 127.0.0.1 (tests and benchmarks use it)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class NoPostgreSQL(RuntimeError):
    """The PostgreSQL server binaries are not installed."""


def _bindir() -> Path:
    for candidate in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
        if (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    raise NoPostgreSQL("PostgreSQL server binaries not found (install postgresql)")


@contextmanager
def running_postgresql() -> Iterator[str]:
    """Yield a SQLAlchemy URL of a fresh server, loopback only; stop and delete it after.

    As root, the server runs as the ``postgres`` user (PostgreSQL refuses root).
    """
    bindir = _bindir()
    data = Path(tempfile.mkdtemp(prefix="extract-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
        as_user = ["runuser", "-u", "postgres", "--"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    def run(*args: str) -> None:
        subprocess.run([*as_user, *args], check=True, capture_output=True, timeout=120)

    db = str(data / "db")
    run(
        str(bindir / "initdb"), "-D", db, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
    )
    options = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    run(str(bindir / "pg_ctl"), "-D", db, "-o", options, "-l", str(data / "log"), "-w", "start")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        run(str(bindir / "pg_ctl"), "-D", db, "-m", "fast", "-w", "stop")
        shutil.rmtree(data, ignore_errors=True)
