"""Whose an unsubscribe token is: the one place that turns a token from a link or a mail into an address.

Tokens name a copy (its ledger row) or a reader (the subscriber store's sid), never the address: the
store says whose they are. Tokens of mail sent before that named the address itself, and still work. A
genuine token of a reader erased on request is Gone, whichever kind it is: nothing of the reader is kept to
give, and an address a token from before names is not given back once erased.
"""

from __future__ import annotations

from collections.abc import Sequence

from composer.deliver.tokens import COPY, READER, IdToken, TokenError, keyed_hash, verify, verify_id
from composer.store import Store
from composer.store.recipients import Row


class Gone(TokenError):
    """A genuine token whose reader is no longer in the store (erased on request)."""

    def __init__(self) -> None:
        super().__init__("nothing is kept about the reader of this link any more")


def address_of(token: str, key: bytes, list_id: str, store: Store) -> str:
    """The address `token` stands for; TokenError for a forged, damaged or other list's token, Gone when
    the reader was erased."""
    found = addresses_of([token], key, list_id, store)[0]
    if isinstance(found, TokenError):
        raise found
    return found


def addresses_of(tokens: Sequence[str], key: bytes, list_id: str, store: Store) -> list[str | TokenError]:
    """What `address_of` gives for each token, or the TokenError it raises, in order; the ledger rows of the
    copies named read in one query, so a provider's burst of one-clicks costs the store one round trip."""
    claims: list[str | TokenError | IdToken] = []
    for token in tokens:
        try:
            if token.strip().count(".") == 1:  # a token from before: it names the address
                claims.append(verify(token, key, list_id))
            else:
                claims.append(verify_id(token, key, list_id, (COPY, READER)))
        except TokenError as err:
            claims.append(err)
    copies = [int(claim.ident) for claim in claims
              if isinstance(claim, IdToken) and claim.kind == COPY and claim.ident.isdigit()]
    rows = store.recipients.rows(copies) if copies else {}
    # A token from before names its address: erased, the address is known only by its keyed hash, and must
    # not come back into the store in clear with the unsubscribe.
    erased = store.subscribers.erased() if any(isinstance(claim, str) for claim in claims) else set()
    return [Gone() if isinstance(claim, str) and keyed_hash(claim, list_id, key) in erased
            else _address(claim, rows, store) for claim in claims]


def _address(claim: str | TokenError | IdToken, rows: dict[int, Row], store: Store) -> str | TokenError:
    if not isinstance(claim, IdToken):
        return claim  # the address a token from before named, or the error of a bad token
    if claim.kind == COPY:
        row = rows.get(int(claim.ident)) if claim.ident.isdigit() else None
        address = row.address if row else None
    else:
        reader = store.subscribers.by_id(claim.ident)
        address = reader.address if reader else None
    return address if address is not None else Gone()
