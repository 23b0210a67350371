"""The Python floor for sending: aiosmtplib over N connections, pre-serialised bytes, no ledger.

    python bench/send_floor.py HOST PORT CONNECTIONS MESSAGES MESSAGE_FILE
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiosmtplib


async def main(host: str, port: int, connections: int, messages: int, raw: bytes) -> None:
    counter = iter(range(messages))

    async def worker() -> None:
        client = aiosmtplib.SMTP(hostname=host, port=port, start_tls=False)
        await client.connect()
        for number in counter:
            await client.sendmail("newsletter@example.org", [f"reader{number}@example.org"], raw)
        await client.quit()

    await asyncio.gather(*(worker() for _ in range(connections)))


if __name__ == "__main__":
    host, port, connections, messages, message_file = sys.argv[1:6]
    asyncio.run(main(host, int(port), int(connections), int(messages), Path(message_file).read_bytes()))
