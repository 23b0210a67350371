"""Text files in UTF-16 or UTF-32: told by their byte order mark or, without one, by the zero bytes that
ASCII characters carry in them (XML 1.0, appendix F). Ingest decodes such inputs; a subscriber list in
one is refused with its encoding named."""

from __future__ import annotations

_BOMS = ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe", "utf-16-le"),
         (b"\xfe\xff", "utf-16-be"))


def wide_encoding(data: bytes) -> tuple[str, int] | None:
    """(codec, length of its byte order mark) when `data` starts like UTF-16 or UTF-32 text, else None."""
    for bom, codec in _BOMS:
        if data.startswith(bom):
            return codec, len(bom)
    head = data[:4]
    if len(head) < 4:
        return None
    if head[:3] == b"\x00\x00\x00" and head[3]:
        return "utf-32-be", 0
    if head[0] and head[1:] == b"\x00\x00\x00":
        return "utf-32-le", 0
    if head[0] == 0 and head[1] and head[2] == 0:
        return "utf-16-be", 0
    if head[0] and head[1] == 0 and head[2] and head[3] == 0:
        return "utf-16-le", 0
    return None
