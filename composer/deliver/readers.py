"""Whose an unsubscribe token is: the one place that turns a token from a link or a mail into an address.

Tokens name a copy (its ledger row) or a reader (the subscriber store's sid), never the address: the
store says whose they are. Tokens of mail sent before that named the address itself, and still work.
"""

from __future__ import annotations

from composer.deliver.tokens import COPY, READER, TokenError, verify, verify_id
from composer.store import Store


class Gone(TokenError):
    """A genuine token whose reader is no longer in the store (erased on request)."""


def address_of(token: str, key: bytes, list_id: str, store: Store) -> str:
    """The address `token` stands for; TokenError for a forged, damaged or other list's token, Gone when
    the reader was erased."""
    if token.strip().count(".") == 1:  # a token from before: it names the address
        return verify(token, key, list_id)
    kind, ident = verify_id(token, key, list_id, (COPY, READER))
    if kind == COPY:
        row = store.recipients.row(int(ident)) if ident.isdigit() else None
        address = row.address if row else None
    else:
        reader = store.subscribers.by_id(ident)
        address = reader.address if reader else None
    if address is None:
        raise Gone("nothing is kept about the reader of this link any more")
    return address
