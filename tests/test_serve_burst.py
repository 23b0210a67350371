"""A mail provider's burst of one-click unsubscribes (issue 24, target 1): `weekly serve` as a real process
behind the README's proxy (X-Forwarded-For from 127.0.0.1) takes 5,000 valid POSTs from three provider
addresses, 50 at a time, and refuses none: every one answered 200 and recorded in the store."""

from __future__ import annotations

import concurrent.futures
import http.client

import pytest
from conftest import KEY, open_test_store
from test_hardening_serve import ONE_CLICK, PATH, WebServer

from composer.deliver.tokens import COPY, sign_id
from composer.models import Subscriber

pytestmark = pytest.mark.both_backends

READERS = 5000
PROVIDERS = ("192.0.2.25", "198.51.100.7", "203.0.113.140")  # three sending hosts, as Gmail's or Yahoo's


def _ledger(count: int) -> dict[str, str]:
    """A sent issue's ledger of `count` readers: each reader's one-click URL (a COPY token, as sent mail
    carries it), by address."""
    with open_test_store() as store:
        store.recipients.add(210, (Subscriber(email=f"reader{n}@example.org") for n in range(count)))
        rows = list(store.recipients.pending(210, batch=count))
    return {row.address: f"{PATH}?token={sign_id(COPY, str(row.id), 'dw-weekly.dig.watch', KEY.encode())}"
            for row in rows}


def _burst(port: int, urls: list[str], concurrency: int = 50) -> list[int]:
    """POST every URL over `concurrency` kept-alive connections, each request from one of PROVIDERS in turn
    (http.client: it sends a small body with the headers, in one packet, as mail providers' clients do);
    the status codes."""

    def connection(share: list[tuple[int, str]]) -> list[int]:
        client = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        statuses = []
        try:
            for number, url in share:
                headers = {**ONE_CLICK["headers"], "X-Forwarded-For": PROVIDERS[number % len(PROVIDERS)]}
                client.request("POST", url, body=ONE_CLICK["content"], headers=headers)
                answer = client.getresponse()
                answer.read()
                statuses.append(answer.status)
        finally:
            client.close()
        return statuses

    numbered = list(enumerate(urls))
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        shares = pool.map(connection, [numbered[first::concurrency] for first in range(concurrency)])
        return [status for share in shares for status in share]


def test_a_providers_burst_of_5000_one_clicks_is_all_recorded(tmp_path):
    """5,000 valid one-clicks from three addresses at the default rate limit (60 a minute a client): 5,000
    answers 200, 5,000 readers suppressed as unsubscribed; a forged token from the same addresses is still
    refused."""
    urls = _ledger(READERS)
    with WebServer(tmp_path) as web:
        statuses = _burst(web.port, list(urls.values()))
        forged = web.client.post(f"{PATH}?token=c.1.forged", **ONE_CLICK).status_code
    assert statuses.count(200) == READERS, {code: statuses.count(code) for code in set(statuses)}
    with open_test_store() as store:
        suppressed = {row.email: row.reason for row in store.suppressions.all()}
    assert set(suppressed) == set(urls), f"{len(set(urls) - set(suppressed))} one-clicks answered 200 were lost"
    assert set(suppressed.values()) == {"unsubscribed"}
    assert forged == 400
