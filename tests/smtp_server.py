"""A real SMTP server in the test process (aiosmtpd), with scriptable replies per recipient, and a
misbehaving one (ScriptedServer) for what aiosmtpd will not do: drop or stall at DATA, 421 for a while."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import threading
import time
from collections import Counter
from email import message_from_bytes
from email.policy import default
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """Accepts mail and keeps it; `temporary[address] = n` answers 451 to its first n RCPTs, `permanent`
    addresses get 550, `drop_after_dot` addresses make the server hang up after the final dot (once),
    `delay` slows every DATA, `always` is the reply to every RCPT when set. Each accepted message also leaves
    the client's (host, port), which tells connections apart, and the time it arrived."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.peers: list[tuple[str, int]] = []
        self.arrivals: list[float] = []
        self.rcpt_attempts: Counter = Counter()
        self.rcpt_times: list[float] = []  # when each RCPT came (time.monotonic()): a transaction under way
        self.temporary: dict[str, int] = {}
        self.permanent: set[str] = set()
        self.refusal = "550 5.1.1 No such user here"  # the reply to a `permanent` address
        self.replies: dict[str, str] = {}  # a reply of its own to an address's RCPT
        self.drop_after_dot: set[str] = set()
        self.delay = 0.0
        self.always = ""  # a reply to every RCPT, e.g. "451 4.3.2 …" or "421 4.3.2 …"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd's name)
        self.rcpt_attempts[address] += 1
        self.rcpt_times.append(time.monotonic())
        if self.always:
            return self.always
        if address in self.permanent:
            return self.refusal
        if address in self.replies:
            return self.replies[address]
        if self.temporary.get(address, 0) > 0:
            self.temporary[address] -= 1
            return "451 4.2.0 Greylisted, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's name)
        if self.delay:
            await asyncio.sleep(self.delay)
        (address,) = envelope.rcpt_tos
        if address in self.drop_after_dot:
            self.drop_after_dot.discard(address)
            server.transport.abort()  # the message arrived, but the client never hears so
            return "250 OK"
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        self.peers.append(session.peer)
        self.arrivals.append(time.monotonic())
        return "250 2.0.0 Ok: queued"

    def received(self) -> Counter:
        """How many messages each address received."""
        return Counter(rcpt for _, rcpts, _ in self.messages for rcpt in rcpts)

    def parsed(self, address: str):
        return [message_from_bytes(raw, policy=default) for _, rcpts, raw in self.messages if address in rcpts]


class Server:
    """Start and stop a Recorder behind aiosmtpd on 127.0.0.1."""

    def __init__(self, tls_context=None, require_starttls: bool = False, authenticator=None,
                 implicit_tls=None, port: int | None = None) -> None:
        """`tls_context` offers STARTTLS; `implicit_tls` (an SSL context) makes it an SMTPS server instead;
        `port` a port chosen before (a server that comes up where a client already failed to connect)."""
        self.recorder = Recorder()
        self.port = port or free_port()
        self._options = {"tls_context": tls_context, "require_starttls": require_starttls,
                         "authenticator": authenticator, "auth_require_tls": True, "ssl_context": implicit_tls}
        self.controller = self._controller()

    def _controller(self) -> Controller:
        return Controller(self.recorder, hostname="127.0.0.1", port=self.port, **self._options)

    def start(self) -> None:
        """(Again, after `stop`: the same port, the same recorder.)"""
        self.controller.start()

    def stop(self) -> None:
        """The server goes down; `start` brings it back."""
        self.controller.stop()
        self.controller = self._controller()

    def __enter__(self) -> Server:
        self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 made by openssl: (cert.pem, key.pem)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )
    return cert, key


def password_is(expected_user: str, expected_password: str):
    """An aiosmtpd authenticator accepting one user and password."""

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = auth_data.login.decode() == expected_user and auth_data.password.decode() == expected_password
        return AuthResult(success=ok, handled=False)  # handled=False: aiosmtpd sends the 535 itself

    return authenticator


class ScriptedServer:
    """A minimal SMTP server on 127.0.0.1 in a thread of its own: it greets, offers 8BITMIME, accepts MAIL
    and RCPT (or answers `rcpt_reply` while `until` has not passed), and at DATA does `at_data`: "accept"
    (354, then 250 after the dot), "drop" (closes the connection before any 354) or "stall" (says nothing).
    It notes when each RCPT came and how many DATA commands and connections it saw."""

    def __init__(self, at_data: str = "accept", rcpt_reply: str = "", until: float = float("inf")) -> None:
        self.at_data = at_data
        self.rcpt_reply = rcpt_reply
        self.until = until  # time.monotonic() after which RCPT is accepted again
        self.port = free_port()
        self.rcpt_times: list[float] = []
        self.data_commands = 0
        self.connections = 0
        self.accepted: list[str] = []
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)

    def __enter__(self) -> ScriptedServer:
        self.thread.start()
        self.server = asyncio.run_coroutine_threadsafe(
            asyncio.start_server(self._session, "127.0.0.1", self.port), self.loop).result(10)
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.server.close)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        rcpt = ""
        try:
            writer.write(b"220 scripted ESMTP\r\n")
            while line := await reader.readline():
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    writer.write(b"250-scripted\r\n250 8BITMIME\r\n")
                elif verb == b"MAIL":
                    writer.write(b"250 OK\r\n")
                elif verb == b"RCPT":
                    self.rcpt_times.append(time.monotonic())
                    rcpt = line.decode().split(":", 1)[1].strip().strip("<>")
                    refuse = self.rcpt_reply and time.monotonic() < self.until
                    writer.write(f"{self.rcpt_reply}\r\n".encode() if refuse else b"250 OK\r\n")
                    if refuse and self.rcpt_reply.startswith("421"):
                        await writer.drain()
                        return
                elif verb == b"DATA":
                    self.data_commands += 1
                    if self.at_data == "drop":
                        return
                    if self.at_data == "stall":
                        await reader.read()  # silent until the client gives up and hangs up
                        return
                    writer.write(b"354 go ahead\r\n")
                    await writer.drain()
                    while await reader.readline() not in (b".\r\n", b""):
                        pass
                    self.accepted.append(rcpt)
                    writer.write(b"250 2.0.0 queued\r\n")
                elif verb == b"RSET":
                    writer.write(b"250 OK\r\n")
                elif verb == b"QUIT":
                    writer.write(b"221 bye\r\n")
                    await writer.drain()
                    return
                else:
                    writer.write(b"502 not here\r\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()
