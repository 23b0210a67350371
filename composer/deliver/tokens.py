"""Unsubscribe tokens: opaque, HMAC-signed, naming the recipient and the list (RFC 8058 one-click).

The one-click POST carries no cookies, so the token in the URL alone must say who unsubscribes; the
signature keeps anyone from unsubscribing somebody else by editing it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from composer.errors import WeeklyError

_MAC_BYTES = 16


class TokenError(WeeklyError):
    """A token that is malformed or whose signature does not match."""


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
