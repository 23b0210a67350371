"""Shared helpers: the repository's paths and a way to run the real `weekly` command."""

from __future__ import annotations

import base64
import contextlib
import csv
import io
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

import pytest

from composer.cli import main
from composer.ingest import load_items

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
