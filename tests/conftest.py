"""Shared helpers: the repository's paths and a way to run the real `weekly` command."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from composer.cli import main
from composer.config import StoreSettings
from composer.ingest import load_items
from composer.store import Store, open_store

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"
BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome") if shutil.which(n)), None)
KEY = "a-test-signing-key-that-is-long-enough"  # signs unsubscribe tokens in the mail tests
# A sending identity at a real domain, as a deployment sets it: the gate refuses the example.org placeholders
# that config/weekly.toml ships. Tests that go through the gate (`weekly check`, `send`, `run --send`) add it.
SENDER, MAILTO = "DW Weekly <newsletter@dig.watch>", "unsubscribe@dig.watch"
IDENTITY = {"WEEKLY_SMTP__SENDER": SENDER, "WEEKLY_LIST__UNSUBSCRIBE_MAILTO": MAILTO}


def run_weekly(*args: str, cwd: Path = ROOT, env: dict | None = None, process: bool = False
               ) -> subprocess.CompletedProcess:
    """The `weekly` command with ARGS: in this process (composer.cli.main, with `env` as the whole
    environment and `cwd` as the working folder), or with `process` as `python -m composer` in its own
    process, for what only a process shows (signals, locks held by another process, a real start-up)."""
    if process:
        return subprocess.run([sys.executable, "-m", "composer", *args], cwd=cwd, env=env, capture_output=True,
                              text=True, timeout=120, check=False)
    stdout, stderr = io.StringIO(), io.StringIO()
    saved_environ, saved_cwd = dict(os.environ), Path.cwd()
    try:
        if env is not None:
            os.environ.clear()
            os.environ.update(env)
        os.chdir(cwd)
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            try:
                code = main([str(arg) for arg in args])
            except SystemExit as exit_:  # argparse: --help, --version and usage errors
                code = exit_.code if isinstance(exit_.code, int) else 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_environ)
    return subprocess.CompletedProcess(["weekly", *args], code, stdout.getvalue(), stderr.getvalue())


class DkimKeys(NamedTuple):
    """Two DKIM keys for DOMAIN, their DNS records, and the settings that sign with both."""

    rsa: Path
    ed25519: Path
    records: dict[bytes, bytes]  # b"SELECTOR._domainkey.DOMAIN." -> the TXT record

    def dns(self, name: bytes, timeout: float = 5) -> bytes | None:
        """A DNS stub for dkimpy's `dnsfunc`: the published records, and nothing from the network."""
        return self.records.get(name)

    def settings(self) -> dict:
        return {"domain": "dig.watch", "keys": [{"selector": "weekly-rsa", "key_file": str(self.rsa)},
                                                {"selector": "weekly-ed", "key_file": str(self.ed25519)}]}

    def env(self) -> dict[str, str]:
        dkim = self.settings()
        return {"WEEKLY_DKIM__DOMAIN": dkim["domain"], "WEEKLY_DKIM__KEYS": json.dumps(dkim["keys"])}


@pytest.fixture(scope="session")
def dkim_keys(tmp_path_factory) -> DkimKeys:
    """An RSA (2048-bit) and an Ed25519 key made by openssl, as README's "Before the first send" makes them."""
    folder = tmp_path_factory.mktemp("dkim")
    rsa, ed25519 = folder / "rsa.pem", folder / "ed25519.pem"

    def openssl(*args: str) -> bytes:
        return subprocess.run(["openssl", *args], check=True, capture_output=True).stdout

    openssl("genrsa", "-out", str(rsa), "2048")
    openssl("genpkey", "-algorithm", "ed25519", "-out", str(ed25519))
    rsa_public = base64.b64encode(openssl("pkey", "-in", str(rsa), "-pubout", "-outform", "DER"))
    ed_public = base64.b64encode(openssl("pkey", "-in", str(ed25519), "-pubout", "-outform", "DER")[-32:])
    return DkimKeys(rsa, ed25519, {
        b"weekly-rsa._domainkey.dig.watch.": b"v=DKIM1; k=rsa; p=" + rsa_public,
        b"weekly-ed._domainkey.dig.watch.": b"v=DKIM1; k=ed25519; p=" + ed_public,
    })


@pytest.fixture(scope="session")
def seeds():
    """The bundled sample week, ingested once."""
    return load_items([SEEDS])


def write_list(path: Path, count: int, extra_rows: list[list[str]] = ()) -> Path:
    """A subscriber CSV of `count` readers (reader0@example.org …), then `extra_rows` as they are."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "name", "country"])
        for number in range(count):
            writer.writerow([f"reader{number}@example.org", f"Reader {number}", "CH"])
        writer.writerows(extra_rows)
    return path


# ---- the store: every test has its own, on SQLite and on PostgreSQL ---------------------------------------
# Every test runs once per backend, but those of the modules below, which never open a store (pure units of
# ingest, curate, summarise and render), and the packaging test (a wheel without extras: SQLite). PostgreSQL is a private server started for the session
# (tests/pg_server.py): absent locally, those runs skip; in CI (CI=true, .ci/run installs it) they fail.

BACKENDS = ("sqlite", "postgresql")
STORE_FREE = {"test_accessibility", "test_browser", "test_context", "test_curate", "test_headline", "test_ingest",
              "test_summarise_editorial", "test_summarise_teaser", "test_summarise_names", "test_summarise_llm",
              "test_ingest_bad_input", "test_ingest_feed", "test_ingest_text", "test_language", "test_package",
              "test_preview", "test_promo", "test_summarise", "test_smtp_writer", "test_bounces_parts"}


def pytest_configure(config):
    config.addinivalue_line("markers", "both_backends: run on SQLite and on PostgreSQL (the default)")


@pytest.fixture(scope="module", autouse=True)
def module_store(tmp_path_factory):
    """A store for what a module builds once (its module-scoped fixtures), out of the checkout."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("WEEKLY_STORE__URL", str(tmp_path_factory.mktemp("module-store") / "store.sqlite3"))
        yield


def pytest_generate_tests(metafunc):
    if "store_backend" in metafunc.fixturenames:
        free = metafunc.module.__name__.rsplit(".", 1)[-1] in STORE_FREE
        metafunc.parametrize("store_backend", BACKENDS[:1] if free else BACKENDS, indirect=True)


@pytest.fixture
def store_backend(request):
    return request.param


@pytest.fixture(scope="session")
def postgres():
    from pg_server import Postgres

    server = Postgres()
    try:
        yield server if server.start() else None
    finally:
        server.stop()


@pytest.fixture(autouse=True)
def store_url(store_backend, request, tmp_path, monkeypatch) -> str:
    """This test's store, in WEEKLY_STORE__URL (so Settings(), the CLI and child processes all use it)."""
    if store_backend == "sqlite":
        url = str(tmp_path / "store.sqlite3")
    else:
        server = request.getfixturevalue("postgres")
        if server is None:
            message = "PostgreSQL is not installed (Debian's postgresql package)"
            pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
        url = server.schema_url(f"t_{secrets.token_hex(6)}")
    monkeypatch.setenv("WEEKLY_STORE__URL", url)
    return url


def open_test_store(list_id: str = "dw-weekly.dig.watch") -> Store:
    """The current test's store, opened as weekly opens it (close it after use)."""
    return open_store(StoreSettings(url=os.environ["WEEKLY_STORE__URL"]), list_id)
