"""What a hostile client can make `weekly serve` hold (issue 19, point 8), measured on a real process.

    python bench/serve_limits.py

- peak memory (VmHWM) of the server before and after one, then four concurrent 100 MB one-click POSTs
  (valid token, Content-Length declared);
- of 3,000 connections that send half a request's headers and wait, how many the server still holds
  15 s later;
- the server's log after 3,000 connections with the process limited to 256 open files, in bytes.
Settings are the defaults. The server runs from this checkout's `composer` (python -m composer serve).
"""

from __future__ import annotations

import concurrent.futures
import os
import re
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import ROOT

sys.path.insert(0, str(ROOT / "tests"))

from smtp_server import free_port

from composer.deliver.tokens import sign

KEY = "a-bench-signing-key-that-is-long-enough"
PATH = "/newsletter/unsubscribe"


def start(folder: Path, nofile: int | None = None) -> tuple[subprocess.Popen, int, Path]:
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "WEEKLY_SIGNING_KEY": KEY, "WEEKLY_SERVE__ALLOWED_HOSTS": '["127.0.0.1"]',
           "WEEKLY_STORE__URL": str(folder / "store.sqlite3"), "WEEKLY_OUTPUT__DIR": str(folder / "out")}
    log = folder / f"serve-{port}.log"

    def limits() -> None:
        if nofile:
            resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile))

    with log.open("w") as handle:
        process = subprocess.Popen([sys.executable, "-m", "composer", "serve", "--port", str(port)], cwd=folder,
                                   env=env, stdout=handle, stderr=subprocess.STDOUT, preexec_fn=limits)
    for _ in range(600):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return process, port, log
        time.sleep(0.05)
    raise SystemExit(f"weekly serve did not start: {log.read_text()}")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def peak_mb(process: subprocess.Popen) -> float:
    return int(re.search(r"VmHWM:\s+(\d+)", Path(f"/proc/{process.pid}/status").read_text())[1]) / 1024


def big_post(port: int) -> str:
    token = sign("reader@example.org", "dw-weekly.dig.watch", KEY.encode())
    size = 100 << 20
    with socket.create_connection(("127.0.0.1", port), timeout=120) as connection:
        connection.sendall(f"POST {PATH}?token={token} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/"
                           f"x-www-form-urlencoded\r\nContent-Length: {size}\r\n\r\n".encode())
        chunk = b"x" * (1 << 20)
        try:
            for _ in range(size // len(chunk)):
                connection.sendall(chunk)
        except OSError:
            pass
        try:
            return connection.recv(20).decode("latin-1").split("\r\n")[0]
        except OSError as err:
            return f"({err.strerror})"


def memory(folder: Path) -> None:
    process, port, _ = start(folder)
    try:
        base = peak_mb(process)
        one = big_post(port)
        after_one = peak_mb(process)
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            four = list(pool.map(lambda _: big_post(port), range(4)))
        after_four = peak_mb(process)
    finally:
        stop(process)
    print(f"| peak memory: idle / after one 100 MB POST / after four at once | {base:.0f} / {after_one:.0f} / "
          f"{after_four:.0f} MB | {one}; {sorted(set(four))} |")


def slow_headers(folder: Path, count: int = 3000) -> None:
    process, port, _ = start(folder)
    held = []
    try:
        for _ in range(count):
            try:
                connection = socket.create_connection(("127.0.0.1", port), timeout=5)
                connection.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
                held.append(connection)
            except OSError:
                break
        time.sleep(15)
        still_open = 0
        for connection in held:
            connection.setblocking(False)
            try:
                still_open += connection.recv(1) != b""
            except BlockingIOError:
                still_open += 1
            except OSError:
                pass
    finally:
        for connection in held:
            connection.close()
        stop(process)
    print(f"| slow-header connections still held 15 s later | {still_open} of {len(held)} | |")


def file_limit(folder: Path, count: int = 3000) -> None:
    process, port, log = start(folder, nofile=256)
    crowd = []
    try:
        for _ in range(count):
            try:
                crowd.append(socket.create_connection(("127.0.0.1", port), timeout=5))
            except OSError:
                break
        time.sleep(20)
    finally:
        for connection in crowd:
            connection.close()
        stop(process)
    text = log.read_text()
    print(f"| log after {len(crowd)} connections, 256 files allowed, 20 s | {len(text.encode())} bytes, "
          f"{text.count('Traceback')} tracebacks | |")


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="weekly-bench-serve-"))
    print("| what | measured | answers |")
    print("| --- | ---: | --- |")
    memory(folder)
    slow_headers(folder)
    file_limit(folder)


if __name__ == "__main__":
    main()
