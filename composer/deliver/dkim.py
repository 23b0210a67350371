"""DKIM signatures (RFC 6376): rsa-sha256, and ed25519-sha256 (RFC 8463), one per key.

Gmail and Yahoo want bulk mail DKIM-signed by the From domain (or its parent, for DMARC alignment), and
honour RFC 8058 one-click unsubscription only when the signature covers List-Unsubscribe and
List-Unsubscribe-Post. Keys are read once, when the message is built, and checked by signing a probe,
so a wrong file fails before anything is sent, naming the file.

Signing is done here rather than by dkimpy's sign(), which costs about 8 ms a copy: its RSA is pure Python
(about 5.5 ms; OpenSSL's, through `cryptography`, about 0.3 ms) and it canonicalises each 50 KB body with
regular expressions (about 2 ms). Canonicalisation is still dkimpy's (CanonicalizationPolicy), the very code
that verifies in the tests; a body is canonicalised once per issue (BodyHashes) and each copy's hash made
from the canonical pieces around its own values.
"""

from __future__ import annotations

import base64
import hashlib
import re
import time
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

from composer.config import DkimKey, DkimSettings
from composer.errors import WeeklyError

if TYPE_CHECKING:
    from dkim.canonicalization import CanonicalizationPolicy

# The headers each signature covers. Names absent from a copy are signed as absent (Reply-To when none
# is set), so nobody can add them later without breaking the signature.
SIGNED = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type", b"reply-to",
          b"list-id", b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id", b"precedence")
# Signed once more than they occur ("oversigned"): a second From, Subject or List-Unsubscribe added on the
# way breaks the signature instead of being shown to the reader or used by the provider.
_OVERSIGNED = (b"from", b"subject", b"reply-to", b"list-unsubscribe", b"list-unsubscribe-post")
_HEADERS = (*SIGNED, *_OVERSIGNED)
MIN_RSA_BITS = 1024  # receivers (and dkimpy's verify) ignore shorter keys; 2048 is what to make
# An Ed25519 private key in PKCS#8 DER (what `openssl genpkey -algorithm ed25519` writes in PEM): this
# prefix, then the 32-byte seed.
_ED25519_PKCS8 = bytes.fromhex("302e020100300506032b657004220420")
_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)
_LINE_BREAK = re.compile(rb"\r?\n")  # dkimpy reads a body's lines split on these, joined with CRLF
_NOT_CANONICAL = re.compile(rb"[ \t\r\n]")  # what relaxed canonicalisation would change around a value


class _Key(NamedTuple):
    selector: bytes
    algorithm: bytes  # b"rsa-sha256" or b"ed25519-sha256"
    private: object  # a `cryptography` RSA or Ed25519 private key


class Signer:
    """Signs a message's bytes with every key of `dkim`, adding one DKIM-Signature header per key;
    relaxed/relaxed, which survives relays that re-fold headers or trim trailing spaces."""

    def __init__(self, dkim: DkimSettings) -> None:
        if not dkim.domain or not dkim.keys:
            raise WeeklyError("DKIM signing needs dkim.domain and at least one entry in dkim.keys")
        self.domain = dkim.domain.encode()
        self.keys = [_Key(key.selector.encode(), *_load(key)) for key in dkim.keys]
        from cryptography.exceptions import UnsupportedAlgorithm

        for key, loaded in zip(dkim.keys, self.keys, strict=True):
            try:
                self._signature(_fields(b"From: probe@" + self.domain + b"\r\n"), _body_hash(b"probe\r\n"), loaded)
            except (ValueError, TypeError, UnsupportedAlgorithm) as err:
                raise WeeklyError(f"{key.key_file}: cannot sign with this DKIM key: {err}") from err

    @property
    def algorithms(self) -> list[str]:
        return [key.algorithm.decode() for key in self.keys]

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line ends, as sent) with its DKIM-Signature headers in front."""
        return self.headers(message) + message

    def headers(self, message: bytes, body_hash: bytes | None = None) -> bytes:
        """The DKIM-Signature headers of `message`, one per key, each ending with CRLF; `body_hash` is its
        body's (BodyHashes.of), when known."""
        header, body = _split(message)
        fields = _fields(header)
        body_hash = body_hash or _body_hash(body)
        return b"".join(self._signature(fields, body_hash, key) for key in self.keys)

    def _signature(self, fields: list[tuple[bytes, bytes]], body_hash: bytes, key: _Key) -> bytes:
        """One DKIM-Signature header (RFC 6376 3.5, 3.7): the tags with b= empty are hashed after the signed
        headers, then b= gets the signature of that hash."""
        tags = (b"v=1; a=%s; c=relaxed/relaxed; d=%s; i=@%s;\r\n q=dns/txt; s=%s; t=%d;\r\n h=%s;\r\n bh=%s;\r\n b="
                % (key.algorithm, self.domain, self.domain, key.selector, int(time.time()),
                   _fold(b" : ".join(_HEADERS)), base64.b64encode(body_hash)))
        signed = _relaxed().canonicalize_headers([*_selected(fields), (b"DKIM-Signature", b" " + tags)])
        data = b"".join(name + b":" + value for name, value in signed).rstrip()  # its own header: no CRLF
        signature = _sign(key, data)
        return b"DKIM-Signature: " + tags + _fold(base64.b64encode(signature), width=70) + b"\r\n"


class BodyHashes:
    """The body hash of each copy of one message with placeholders (matched by `placeholder`), from its body
    canonicalised once: relaxed canonicalisation leaves a value alone when it holds no space, tab or line
    break and is not empty, so the canonical body of a copy is the canonical template with the values put in,
    and its hash goes on from the hash of the part before the first placeholder."""

    def __init__(self, message: bytes, placeholder: re.Pattern[bytes]) -> None:
        body = _LINE_BREAK.sub(b"\r\n", _split(message)[1])
        self.pieces = placeholder.split(_relaxed().canonicalize_body(body))
        self.start = hashlib.sha256(self.pieces[0])

    def of(self, values: dict[bytes, bytes]) -> bytes | None:
        """The body hash of the copy with `values` in; None when a value would change around it (or, holding
        a line break, could move where the body starts), and the copy's body must be canonicalised whole."""
        if any(b"\r" in value or b"\n" in value for value in values.values()):
            return None
        digest = self.start.copy()
        for index in range(1, len(self.pieces), 2):
            value = values.get(self.pieces[index], self.pieces[index])
            if not value or _NOT_CANONICAL.search(value):
                return None
            digest.update(value)
            digest.update(self.pieces[index + 1])
        return digest.digest()


def _split(message: bytes) -> tuple[bytes, bytes]:
    """(the header, with its last CRLF; the body) of a message with CRLF line ends."""
    end = message.find(b"\r\n\r\n")
    return (message, b"") if end < 0 else (message[:end + 2], message[end + 4:])


def _fields(header: bytes) -> list[tuple[bytes, bytes]]:
    """The header's fields as (name, value with its line ends), folded lines joined to theirs."""
    fields: list[tuple[bytes, bytes]] = []
    for line in _LINE_BREAK.split(header):
        if line[:1] in (b" ", b"\t") and fields:
            fields[-1] = (fields[-1][0], fields[-1][1] + line + b"\r\n")
        elif line:
            name, _, value = line.partition(b":")
            fields.append((name, value + b"\r\n"))
    return fields


def _selected(fields: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The fields each name of h= signs (RFC 6376 5.4.2): the last instance first, then the one above it; a
    name with no instance left signs nothing."""
    selected = []
    above: dict[bytes, int] = {}
    for name in _HEADERS:
        index = above.get(name, len(fields))
        while index > 0:
            index -= 1
            if fields[index][0].lower() == name:
                selected.append(fields[index])
                break
        above[name] = index
    return selected


def _body_hash(body: bytes) -> bytes:
    return hashlib.sha256(_relaxed().canonicalize_body(_LINE_BREAK.sub(b"\r\n", body))).digest()


@cache
def _relaxed() -> CanonicalizationPolicy:
    """dkimpy's relaxed/relaxed canonicalisation: the verifier's own code."""
    from dkim.canonicalization import CanonicalizationPolicy

    return CanonicalizationPolicy.from_c_value(b"relaxed/relaxed")


def _sign(key: _Key, data: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

    if isinstance(key.private, rsa.RSAPrivateKey):
        return key.private.sign(data, padding.PKCS1v15(), hashes.SHA256())
    assert isinstance(key.private, ed25519.Ed25519PrivateKey)
    return key.private.sign(hashlib.sha256(data).digest())  # RFC 8463: Ed25519 over the SHA-256 hash


def _fold(value: bytes, width: int = 64) -> bytes:
    """`value` over several header lines: h= broken after its separators, b= every `width` characters."""
    if b" : " in value:
        lines: list[bytes] = []
        for name in value.split(b" : "):
            if lines and len(lines[-1]) + len(name) < width:
                lines[-1] += b" : " + name
            else:
                lines.append((b": " if lines else b"") + name)
        return b"\r\n  ".join(lines)
    return b"\r\n  ".join(_chunks(value, width))


def _chunks(value: bytes, width: int) -> Iterable[bytes]:
    return (value[start:start + width] for start in range(0, len(value), width))


def _load(key: DkimKey) -> tuple[bytes, object]:
    """(algorithm, private key) from the key file, by what the file holds."""
    from cryptography.exceptions import UnsupportedAlgorithm
    from cryptography.hazmat.primitives.asymmetric import ed25519, rsa
    from cryptography.hazmat.primitives.serialization import load_der_private_key

    path = key.key_file
    data = _read(path)
    pem = _PEM.search(data)
    if pem is None:  # dkimpy's own Ed25519 format: the base64 seed alone
        seed = _base64(data, path)
        if len(seed) != 32:
            raise WeeklyError(f"{path}: not a PEM private key nor a base64 Ed25519 seed (32 bytes)")
        return b"ed25519-sha256", ed25519.Ed25519PrivateKey.from_private_bytes(seed)
    der = _base64(pem[2], path)
    if der.startswith(_ED25519_PKCS8) and len(der) == len(_ED25519_PKCS8) + 32:
        return b"ed25519-sha256", ed25519.Ed25519PrivateKey.from_private_bytes(der[len(_ED25519_PKCS8):])
    try:
        private = load_der_private_key(der, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm) as err:
        raise WeeklyError(f"{path}: not an RSA or Ed25519 private key ({pem[1].decode()})") from err
    if not isinstance(private, rsa.RSAPrivateKey):
        raise WeeklyError(f"{path}: not an RSA or Ed25519 private key ({pem[1].decode()})")
    if private.key_size < MIN_RSA_BITS:
        raise WeeklyError(f"{path}: a {private.key_size}-bit RSA key is too short for DKIM (receivers ignore it); "
                          "make a 2048-bit one: openssl genrsa -out dkim.pem 2048")
    return b"rsa-sha256", private


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise WeeklyError(f"{path}: cannot read the DKIM key (dkim.keys): {err.strerror or err}") from err


def _base64(data: bytes, path: Path) -> bytes:
    try:
        return base64.b64decode(b"".join(data.split()), validate=True)
    except ValueError as err:
        raise WeeklyError(f"{path}: not a PEM private key nor a base64 Ed25519 seed") from err
