"""One-click unsubscribe under load (issue 24, target 2): `weekly serve` beside a bare Starlette POST, in one run.

    python bench/serve_oneclick.py                 # SQLite store
    STORE=postgresql python bench/serve_oneclick.py
    BEFORE=8573a18 python bench/serve_oneclick.py  # also weekly at that commit (a git worktree)

Each server runs twice: with uvicorn's standard extras (httptools, uvloop), and "plain" (h11 and asyncio's
own loop: the extras hidden by stub modules on PYTHONPATH that refuse to import), as without them.

wrk (Debian's `wrk`) posts `List-Unsubscribe=One-Click` with 50 connections for DURATION seconds, each
request a different reader's genuine token (COPY tokens of a ledger of READERS rows, as sent mail carries
them), so every POST is a new unsubscribe written to the store. The baseline is a bare Starlette app under
uvicorn's defaults that reads the same form and answers a page: no token, no store, no queue. Contenders
run in turn, RUNS times, each against a fresh store; the table gives medians (min–max) and each one's
ratio to the baseline's median of the same run. After each weekly run the server is stopped (its queue
applied) and the store's suppressions counted: every 200 must be recorded.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

sys.path.insert(0, str(ROOT / "tests"))
from pg_server import Postgres
from smtp_server import free_port

from composer.config import StoreSettings
from composer.deliver.tokens import COPY, sign_id
from composer.models import Subscriber
from composer.store import open_store

RUNS = int(os.environ.get("RUNS", 3))
DURATION = int(os.environ.get("DURATION", 10))
CONNECTIONS = int(os.environ.get("CONNECTIONS", 50))
READERS = int(os.environ.get("READERS", 150_000))
STORE = os.environ.get("STORE", "sqlite")
BEFORE = os.environ.get("BEFORE")
KEY = "a-bench-signing-key-that-is-long-enough"
LIST_ID = "dw-weekly.dig.watch"
PATH = "/newsletter/unsubscribe"

BARE = '''
from urllib.parse import parse_qs
from starlette.applications import Starlette
from starlette.responses import HTMLResponse
from starlette.routing import Route

async def unsubscribe(request):
    form = parse_qs((await request.body()).decode())
    if form.get("List-Unsubscribe") != ["One-Click"]:
        return HTMLResponse("expected List-Unsubscribe=One-Click", status_code=400)
    return HTMLResponse("<!doctype html><title>You are unsubscribed</title><p>You will receive no more issues.</p>")

app = Starlette(routes=[Route("/newsletter/unsubscribe", unsubscribe, methods=["POST"])])
'''

# Each wrk thread takes every other path, from its own start, so no token is posted twice in a run.
LUA = '''
local paths = {}
for line in io.lines("%(paths)s") do paths[#paths + 1] = line end
local counter = 1
local threads = {}
function setup(thread) thread:set("id", counter); counter = counter + 1; table.insert(threads, thread) end
function init(args) step = %(threads)d; at = id end
function request()
  local path = paths[at]; at = at + step; if at > #paths then at = id end
  return wrk.format("POST", path, {["Host"] = "127.0.0.1", ["Content-Type"] = "application/x-www-form-urlencoded"},
                    "List-Unsubscribe=One-Click")
end
function done(summary, latency, requests)
  io.write(string.format('{"requests": %%d, "seconds": %%f, "non2xx": %%d, "errors": %%d, "p50": %%f, "p99": %%f}\\n',
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
'''
THREADS = 2


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed (Debian's wrk package)")
    work = Path(tempfile.mkdtemp(prefix="weekly-bench-oneclick-"))
    postgres = Postgres() if STORE == "postgresql" else None
    before = work / "before" if BEFORE else None
    if before:
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(before), BEFORE], check=True,
                       capture_output=True)
    try:
        pg_url = postgres.start() if postgres else None
        if postgres and not pg_url:
            raise SystemExit("PostgreSQL is not installed (Debian's postgresql package)")
        (work / "bare.py").write_text(BARE)
        plain = work / "plain"  # import uvloop / import httptools fail here, as where they are not installed
        plain.mkdir()
        for module in ("uvloop", "httptools"):
            (plain / f"{module}.py").write_text("raise ImportError('hidden for the benchmark')\n")
        contenders: list[tuple[str, Path | None, Path | None]] = [
            ("bare Starlette POST, uvicorn with httptools and uvloop", None, None),
            ("bare Starlette POST, uvicorn plain (h11, asyncio)", None, plain)]
        if before:
            contenders.append((f"weekly serve at {BEFORE} (h11, asyncio)", before, plain))
        contenders += [("weekly serve, plain (h11, asyncio)", ROOT, plain),
                       ("weekly serve with httptools and uvloop", ROOT, None)]
        results: dict[str, list[dict]] = {name: [] for name, _, _ in contenders}
        for run in range(RUNS):
            for name, source, hidden in contenders:
                if source is None:
                    results[name].append(_bare(work, hidden))
                else:
                    url = postgres.schema_url(f"b{run}_{secrets.token_hex(3)}") if postgres else \
                        str(work / f"store-{secrets.token_hex(4)}.sqlite3")
                    results[name].append(_weekly(work, source, url, hidden))
                print(f"run {run + 1} {name}: {results[name][-1]}", file=sys.stderr, flush=True)
    finally:
        if postgres:
            postgres.stop()
        if before:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(before)], capture_output=True)
    _table(results, contenders[0][0])


def _table(results: dict[str, list[dict]], base_name: str) -> None:
    load = os.getloadavg()
    print(f"{CONNECTIONS} connections, wrk -t{THREADS} for {DURATION} s, median (min–max) of {RUNS} runs, store "
          f"{STORE}; load average before the table {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)\n")
    print("| one-click POST | req/s | vs bare | p50 ms | p99 ms | server CPU µs per request | non-2xx | "
          "recorded / answered 200 |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    base = statistics.median(r["rate"] for r in results[base_name])
    for name, runs in results.items():
        rates = [r["rate"] for r in runs]
        p50 = statistics.median(r["p50"] for r in runs)
        p99s = [r["p99"] for r in runs]
        recorded = "; ".join(f"{r['recorded']} / {r['requests'] - r['non2xx']}" for r in runs if "recorded" in r)
        print(f"| {name} | {statistics.median(rates):.0f} ({min(rates):.0f}–{max(rates):.0f}) | "
              f"{statistics.median(rates) / base:.2f}× | {p50:.1f} | {statistics.median(p99s):.1f} "
              f"({min(p99s):.1f}–{max(p99s):.1f}) | {statistics.median(r['cpu_us'] for r in runs):.0f} | {sum(r['non2xx'] + r['errors'] for r in runs)} | {recorded or '-'} |")


def _cpu_seconds(process: subprocess.Popen) -> float:
    """User and system CPU time the process has used so far (/proc/PID/stat)."""
    fields = Path(f"/proc/{process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wrk(port: int, script: Path, seconds: int, server: subprocess.Popen | None = None) -> dict:
    cpu = _cpu_seconds(server) if server else 0.0
    done = subprocess.run(["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "--latency", "-s", str(script),
                           f"http://127.0.0.1:{port}{PATH}"], capture_output=True, text=True, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["rate"] = result["requests"] / result["seconds"]
    if server:
        result["cpu_us"] = (_cpu_seconds(server) - cpu) / max(result["requests"], 1) * 1e6
    return result


def _script(work: Path, paths: list[str]) -> Path:
    listing = work / f"paths-{secrets.token_hex(3)}.txt"
    listing.write_text("\n".join(paths) + "\n")
    script = listing.with_suffix(".lua")
    script.write_text(LUA % {"paths": listing, "threads": THREADS})
    return script


def _path(*folders: Path | None) -> str:
    return os.pathsep.join(str(folder) for folder in folders if folder)


def _bare(work: Path, hidden: Path | None) -> dict:
    port = free_port()
    script = _script(work, [PATH] * 1000)
    process = _start([sys.executable, "-c", "import uvicorn, sys; "
                      "uvicorn.run('bare:app', host='127.0.0.1', port=int(sys.argv[1]), log_level='warning', "
                      "access_log=False)", str(port)], port, {**os.environ, "PYTHONPATH": _path(hidden, work)},
                     work / "bare.log")
    try:
        _wrk(port, script, 2)  # warm-up
        return _wrk(port, script, DURATION, process)
    finally:
        _stop(process)


def _weekly(work: Path, source: Path, url: str, hidden: Path | None) -> dict:
    with open_store(StoreSettings(url=url), LIST_ID) as store:
        store.recipients.add(210, (Subscriber(email=f"reader{n}@example.org") for n in range(READERS)))
        rows = list(store.recipients.pending(210, batch=10_000))
    paths = [f"{PATH}?token={sign_id(COPY, str(row.id), LIST_ID, KEY.encode())}" for row in rows]
    warm, measured = paths[:2000], paths[2000:]
    measured_readers = {row.address for row in rows[2000:]}
    port = free_port()
    folder = work / f"serve-{secrets.token_hex(3)}"
    folder.mkdir()
    env = {**os.environ, "PYTHONPATH": _path(hidden, source), "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_STORE__URL": url,
           "WEEKLY_SERVE__ALLOWED_HOSTS": '["127.0.0.1"]', "WEEKLY_OUTPUT__DIR": str(folder / "out"),
           "WEEKLY_SERVE__QUEUE_FILE": str(folder / "queue.jsonl")}
    process = _start([sys.executable, "-m", "composer", "serve", "--port", str(port)], port, env, folder / "serve.log",
                     cwd=source)
    try:
        _wrk(port, _script(work, warm), 2)
        result = _wrk(port, _script(work, measured), DURATION, process)
    finally:
        _stop(process)
    with open_store(StoreSettings(url=url), LIST_ID) as store:
        result["recorded"] = sum(row.email in measured_readers for row in store.suppressions.all())
    return result


def _start(command: list[str], port: int, env: dict, log: Path, cwd: Path | None = None) -> subprocess.Popen:
    with log.open("w") as handle:
        process = subprocess.Popen(command, cwd=cwd or log.parent, env=env, stdout=handle, stderr=subprocess.STDOUT)
    for _ in range(600):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process
        if process.poll() is not None:
            break
        time.sleep(0.05)
    raise SystemExit(f"{command[:3]} did not start: {log.read_text()[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(60)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


if __name__ == "__main__":
    main()
