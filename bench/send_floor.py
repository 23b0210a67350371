"""The Python floors for sending over N connections, no ledger, one message file sent to every reader:

- `aiosmtplib`: aiosmtplib's sendmail with pre-serialised bytes (it CRLF-normalises and dot-stuffs
  every copy, as any caller of its public API pays);
- `raw`: asyncio streams and the body CRLF-normalised and dot-stuffed once, each command awaited in
  turn (MAIL, RCPT, DATA, the body): what one Python process can do with no per-message work at all.

    python bench/send_floor.py HOST PORT CONNECTIONS MESSAGES MESSAGE_FILE [aiosmtplib|raw]
"""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path


async def with_aiosmtplib(host: str, port: int, connections: int, messages: int, raw: bytes) -> None:
    import aiosmtplib

    counter = iter(range(messages))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        await client.connect()
        for number in counter:
            await client.sendmail("newsletter@example.org", [f"reader{number}@example.org"], raw)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


async def with_raw_asyncio(host: str, port: int, connections: int, messages: int, raw: bytes) -> None:
    wire = re.sub(rb"(?m)^\.", b"..", re.sub(rb"\r\n|\r|\n", b"\r\n", raw))
    wire += (b"" if wire.endswith(b"\r\n") else b"\r\n") + b".\r\n"
    counter = iter(range(messages))

    async def reply(reader: asyncio.StreamReader, expected: bytes) -> None:
        while True:
            line = await reader.readline()
            if line[3:4] != b"-":
                break
        if not line.startswith(expected):
            raise SystemExit(f"unexpected reply: {line!r}")

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        await reply(reader, b"220")
        writer.write(b"EHLO floor.example.org\r\n")
        await reply(reader, b"250")
        for number in counter:
            writer.write(b"MAIL FROM:<newsletter@example.org> BODY=8BITMIME\r\n")
            await reply(reader, b"250")
            writer.write(b"RCPT TO:<reader%d@example.org>\r\n" % number)
            await reply(reader, b"250")
            writer.write(b"DATA\r\n")
            await reply(reader, b"354")
            writer.write(wire)
            await reply(reader, b"250")
        writer.write(b"QUIT\r\n")
        await reply(reader, b"221")
        writer.close()

    await asyncio.gather(*(worker() for _ in range(connections)))


if __name__ == "__main__":
    host, port, connections, messages, message_file = sys.argv[1:6]
    floor = with_raw_asyncio if sys.argv[6:] == ["raw"] else with_aiosmtplib
    asyncio.run(floor(host, int(port), int(connections), int(messages), Path(message_file).read_bytes()))
