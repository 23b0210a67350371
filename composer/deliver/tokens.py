"""Signed tokens: unsubscribe tokens (RFC 8058 one-click), tokens naming an opaque id (a copy, a reader, a
sign-up, a form; some expire), and the tags that name each copy sent, so that a bounce or a complaint can
prove it is about mail we sent.

The one-click POST carries no cookies, so the token in the URL alone must say who unsubscribes; the
signature keeps anyone from unsubscribing somebody else by editing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from typing import NamedTuple

from composer.errors import WeeklyError

_MAC_BYTES = 16


class TokenError(WeeklyError):
    """A token that is malformed or whose signature does not match."""


# ---- tokens naming an opaque id, never the address ----------------------------------------------------
# KIND.ID[.EXPIRES].MAC: the kind says what the id is, the store says whose it is. Links already sent
# carry the older tokens that named the address (`sign`, `verify`); those keep working.
COPY = "c"  # one copy of an issue: its ledger row
READER = "r"  # a reader of the subscriber store: its sid
CONFIRM = "k"  # a sign-up waiting for confirmation: its pending id (expires)
RESUBSCRIBE = "s"  # the unsubscribe page's Resubscribe form: a digest of the link's token (expires)


class IdToken(NamedTuple):
    kind: str
    ident: str


def sign_id(kind: str, ident: str, list_id: str, key: bytes, expires: float | None = None) -> str:
    """A token naming `ident` (of `kind`) on `list_id`; with `expires` (seconds since the epoch) it stops
    working then."""
    parts = [kind, ident] + ([str(int(expires))] if expires is not None else [])
    return ".".join([*parts, _encode(_id_mac(key, list_id, parts))])


def verify_id(token: str, key: bytes, list_id: str, kinds: tuple[str, ...], now: float | None = None) -> IdToken:
    """The id a genuine, unexpired token of one of `kinds` names; TokenError otherwise."""
    parts = token.strip().split(".")
    if len(parts) not in (3, 4) or parts[0] not in kinds or not parts[1]:
        raise TokenError("token is malformed or of another kind")
    try:
        mac = _decode(parts[-1])
        expires = int(parts[2]) if len(parts) == 4 else None
    except ValueError as err:
        raise TokenError("token is malformed") from err
    if not hmac.compare_digest(mac, _id_mac(key, list_id, parts[:-1])):
        raise TokenError("token is forged, for another list, or signed with another key")
    if expires is not None and (time.time() if now is None else now) > expires:
        raise TokenError("token has expired")
    return IdToken(parts[0], parts[1])


def keyed_hash(email: str, list_id: str, key: bytes) -> str:
    """What the suppression list keeps of an erased address: recognisable with the key, unreadable without."""
    return "erased:" + hmac.new(key, f"erased\0{list_id}\0{email.lower()}".encode(), hashlib.sha256).hexdigest()


def _id_mac(key: bytes, list_id: str, parts: list[str]) -> bytes:
    return hmac.new(key, "\0".join(["id", list_id, *parts]).encode(), hashlib.sha256).digest()[:_MAC_BYTES]


def sign(email: str, list_id: str, key: bytes) -> str:
    """The token for `email` on `list_id`: base64url(list NUL email) '.' base64url(HMAC-SHA256[:16])."""
    payload = f"{list_id}\0{email.lower()}".encode()
    mac = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    return f"{_encode(payload)}.{_encode(mac)}"


def verify(token: str, key: bytes, list_id: str) -> str:
    """The address of a genuine token for `list_id`; TokenError for a forged, damaged or other list's one."""
    try:
        encoded_payload, encoded_mac = token.strip().split(".")
        payload, mac = _decode(encoded_payload), _decode(encoded_mac)
        token_list, email = payload.decode().split("\0")
    except (ValueError, UnicodeDecodeError) as err:
        raise TokenError("unsubscribe token is malformed") from err
    expected = hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise TokenError("unsubscribe token is forged or was signed with another key")
    if token_list != list_id:
        raise TokenError(f"unsubscribe token is for the list {token_list!r}, not {list_id!r}")
    return email


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


# ---- copy tags: which copy a bounce or a complaint is about -----------------------------------------------

_COPY_MAC_BYTES = 8
_COPY_TAG = re.compile(r"(?<![\w.])(\d{1,9})\.(\d{1,15})\.([0-9a-f]{16})(?![0-9a-z])", re.IGNORECASE)


class CopyTag(NamedTuple):
    """A tag found in a report: the issue, the ledger row, and the MAC to check against the row's address."""

    issue: int
    row_id: int
    mac: str


def copy_tag(key: bytes, list_id: str, issue: int, row_id: int, email: str) -> str:
    """ISSUE.ROW.MAC: names the copy sent to `email` (its ledger row) in its Message-ID and, with VERP, in its
    return path. The MAC (HMAC-SHA256 over the list, issue, row and address; 64 bits) makes it unguessable,
    so a report that carries a genuine one is about mail we sent, to that row's address."""
    return f"{issue}.{row_id}.{_copy_mac(key, list_id, issue, row_id, email)}"


def copy_tags(text: str) -> list[CopyTag]:
    """Every tag-shaped string in `text` (a Message-ID, an address), unchecked: `copy_tag_is_genuine` says."""
    return [CopyTag(int(issue), int(row), mac.lower()) for issue, row, mac in _COPY_TAG.findall(text)]


def copy_tag_is_genuine(tag: CopyTag, key: bytes, list_id: str, email: str) -> bool:
    return hmac.compare_digest(tag.mac, _copy_mac(key, list_id, tag.issue, tag.row_id, email))


def _copy_mac(key: bytes, list_id: str, issue: int, row_id: int, email: str) -> str:
    payload = f"copy\0{list_id}\0{issue}\0{row_id}\0{email.lower()}".encode()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_COPY_MAC_BYTES].hex()
