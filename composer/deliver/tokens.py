"""Unsubscribe tokens: opaque, HMAC-signed, naming the recipient and the list (RFC 8058 one-click).

The one-click POST carries no cookies, so the token in the URL alone must say who unsubscribes; the
signature keeps anyone from unsubscribing somebody else by editing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
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
