"""A private PostgreSQL server for the tests: initdb into a temporary folder, started on 127.0.0.1.

Debian's `postgresql` package provides the binaries (.ci/run installs it). As root (CI) the server runs
as the `postgres` user, which initdb requires. Each test gets its own schema, so tests never see each
other's rows.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from smtp_server import free_port


def _binary(name: str) -> str | None:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return found[-1] if found else shutil.which(name)


class Postgres:
    """Start with `start()` (None when PostgreSQL is not installed), stop with `stop()`."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="weekly-pg-"))
        self.data = self.folder / "data"
        self.port = free_port()
        self.as_root = os.geteuid() == 0
        self.url: str | None = None

    def _run(self, *command: str) -> subprocess.CompletedProcess:
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        return subprocess.run([*prefix, *command], capture_output=True, text=True, timeout=120, check=False)

    def start(self) -> str | None:
        initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
        if not initdb or not pg_ctl:
            return None
        if self.as_root:
            shutil.chown(self.folder, "postgres")
        done = self._run(initdb, "-D", str(self.data), "-A", "trust", "-U", "weekly", "-E", "UTF8", "--no-sync")
        if done.returncode:
            raise RuntimeError(f"initdb failed: {done.stderr.strip()}")
        options = (f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off "
                   "-c synchronous_commit=off -c full_page_writes=off")
        done = self._run(pg_ctl, "-D", str(self.data), "-o", options, "-l", str(self.folder / "log"), "-w", "start")
        if done.returncode:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()} {(self.folder / 'log').read_text()}")
        self.url = f"postgresql://weekly@127.0.0.1:{self.port}/postgres"
        return self.url

    def schema_url(self, schema: str) -> str:
        """The URL of a fresh schema of the test database: a store of its own."""
        import psycopg

        assert self.url
        with psycopg.connect(self.url, autocommit=True) as connection:
            connection.execute(f'CREATE SCHEMA "{schema}"')
        return f"{self.url}?options=-csearch_path%3D{schema}"

    def stop(self) -> None:
        pg_ctl = _binary("pg_ctl")
        if self.url and pg_ctl:
            self._run(pg_ctl, "-D", str(self.data), "-m", "immediate", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)
