"""DKIM signatures (RFC 6376) made with dkimpy: rsa-sha256, and ed25519-sha256 (RFC 8463), one per key.

Gmail and Yahoo want bulk mail DKIM-signed by the From domain (or its parent, for DMARC alignment), and
honour RFC 8058 one-click unsubscription only when the signature covers List-Unsubscribe and
List-Unsubscribe-Post. Keys are read once, when the message is built, and checked by signing a probe,
so a wrong file fails before anything is sent, naming the file.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path

from composer.config import DkimKey, DkimSettings
from composer.errors import WeeklyError

# The headers each signature covers. Names absent from a copy are signed as absent (Reply-To when none
# is set), so nobody can add them later without breaking the signature.
SIGNED = (b"from", b"to", b"subject", b"date", b"message-id", b"mime-version", b"content-type", b"reply-to",
          b"list-id", b"list-unsubscribe", b"list-unsubscribe-post", b"feedback-id", b"precedence")
# Signed once more than they occur ("oversigned"): a second From, Subject or List-Unsubscribe added on the
# way breaks the signature instead of being shown to the reader or used by the provider.
_OVERSIGNED = (b"from", b"subject", b"reply-to", b"list-unsubscribe", b"list-unsubscribe-post")
# relaxed/relaxed survives relays that re-fold headers or trim trailing spaces; the body is 8bit as sent.
_CANONICALIZE = (b"relaxed", b"relaxed")
MIN_RSA_BITS = 1024  # receivers (and dkimpy's verify) ignore shorter keys; 2048 is what to make
# An Ed25519 private key in PKCS#8 DER (what `openssl genpkey -algorithm ed25519` writes in PEM): this
# prefix, then the 32-byte seed dkimpy wants, base64-encoded.
_ED25519_PKCS8 = bytes.fromhex("302e020100300506032b657004220420")
_PEM = re.compile(rb"-----BEGIN ([A-Z ]+)-----(.*?)-----END \1-----", re.DOTALL)


class Signer:
    """Signs a message's bytes with every key of `dkim`, adding one DKIM-Signature header per key."""

    def __init__(self, dkim: DkimSettings) -> None:
        if not dkim.domain or not dkim.keys:
            raise WeeklyError("DKIM signing needs dkim.domain and at least one entry in dkim.keys")
        self.domain = dkim.domain.encode()
        self.keys = [(key.selector.encode(), *_load(key)) for key in dkim.keys]
        import dkim as dkimpy

        for key, (selector, algorithm, private) in zip(dkim.keys, self.keys, strict=True):
            try:
                self._signature(b"From: probe@" + self.domain + b"\r\n\r\nprobe\r\n", selector, algorithm, private)
            except dkimpy.DKIMException as err:
                raise WeeklyError(f"{key.key_file}: cannot sign with this DKIM key: {err}") from err

    @property
    def algorithms(self) -> list[str]:
        return [algorithm.decode() for _, algorithm, _ in self.keys]

    def sign(self, message: bytes) -> bytes:
        """`message` (CRLF line ends, as sent) with its DKIM-Signature headers in front."""
        return self.headers(message) + message

    def headers(self, message: bytes) -> bytes:
        """The DKIM-Signature headers of `message`, one per key, each ending with CRLF."""
        return b"".join(self._signature(message, selector, algorithm, private)
                        for selector, algorithm, private in self.keys)

    def _signature(self, message: bytes, selector: bytes, algorithm: bytes, private: bytes) -> bytes:
        import dkim

        return dkim.sign(message, selector, self.domain, private, signature_algorithm=algorithm,
                         canonicalize=_CANONICALIZE, include_headers=[*SIGNED, *_OVERSIGNED])


def _load(key: DkimKey) -> tuple[bytes, bytes]:
    """(algorithm, private key as dkimpy takes it) from the key file, by what the file holds."""
    path = key.key_file
    data = _read(path)
    pem = _PEM.search(data)
    if pem is None:  # dkimpy's own Ed25519 format: the base64 seed alone
        seed = _base64(data, path)
        if len(seed) != 32:
            raise WeeklyError(f"{path}: not a PEM private key nor a base64 Ed25519 seed (32 bytes)")
        return b"ed25519-sha256", base64.b64encode(seed)
    der = _base64(pem[2], path)
    if der.startswith(_ED25519_PKCS8) and len(der) == len(_ED25519_PKCS8) + 32:
        return b"ed25519-sha256", base64.b64encode(der[len(_ED25519_PKCS8):])
    from dkim.crypto import UnparsableKeyError, parse_private_key

    try:
        bits = parse_private_key(der)["modulus"].bit_length()
    except UnparsableKeyError as err:
        raise WeeklyError(f"{path}: not an RSA or Ed25519 private key ({pem[1].decode()})") from err
    if bits < MIN_RSA_BITS:
        raise WeeklyError(f"{path}: a {bits}-bit RSA key is too short for DKIM (receivers ignore it); make a 2048-bit "
                          "one: openssl genrsa -out dkim.pem 2048")
    return b"rsa-sha256", data


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
