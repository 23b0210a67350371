"""Sources: the week's feeds and a WordPress site's REST API, fetched by URL as a feed reader does.

    fetched = fetch(settings, today)             # every source in settings.sources.fetch
    fetched = fetch(settings, today, offline=True)  # no request: the copies kept from before
    load_items([*paths, *fetched.paths])

Each source's last good answer is kept in `sources.cache_dir` (cache.py) as a file ingest reads: a feed
as it came, a WordPress API as the RSS WordPress would publish (wordpress.py). A fetch asks each URL
only for what changed (http.py: conditional GET, gzip, redirects, retries, limits). An answer that is
not what the source should give (an HTML page, a feed ingest cannot read, a feed cut off or damaged
mid-way) is a failure and never replaces the good copy; nor does an answer with no items where the copy
had some (a site's fault more often than a quiet week), which keeps the copy with a warning. A source
that fails is one outcome with its reason, and its last good copy (if any) is still read: the others
are fetched and the issue is built. `Fetched.shortfall` says when the
sources that failed carried more than `sources.max_failed_share` of the last week's items, the typed
reason `weekly run --send` sends nothing.

Fetched items are recorded in the store (`store.items.see`) with their source's name and the time
they were first seen, so a story fetched twice is one item, and an undated one belongs to the issue
composed after it was first seen.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from composer.config import Settings, SourceSettings, SourcesSettings, source_slug
from composer.ingest import MALFORMED, load_items
from composer.models import Item
from composer.sources.cache import Copies, SourceRecord
from composer.sources.http import Answer, Client, Failure, FetchFailed
from composer.sources.wordpress import Window, wordpress_feed
from composer.store import Store, open_store

__all__ = ["Failure", "Fetched", "Outcome", "Shortfall", "SourceOutcome", "fetch"]

FEEDS = ("application/rss+xml, application/atom+xml, application/feed+json, application/xml;q=0.9, "
         "text/xml;q=0.8, application/json;q=0.7, */*;q=0.1")
WEEK = timedelta(days=7)


class Outcome(StrEnum):
    FETCHED = "fetched"  # a new answer, read and kept
    NOT_MODIFIED = "not_modified"  # every URL answered 304: the copy is current
    FAILED = "failed"  # `reason` says why; the last good copy, if any, is still read
    KEPT = "kept"  # an answer with no items where the copy had some: `reason` says so, the copy is read
    OFFLINE = "offline"  # not fetched (--offline): the copy kept from before


class SourceOutcome(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    url: str
    outcome: Outcome
    failure: Failure | None = None
    reason: str | None = None
    path: Path | None = None  # the copy ingest reads (None: no good copy yet)
    copied_at: datetime | None = None  # when that copy was fetched
    items: int = 0
    week_items: int = 0  # of the last week: dated in it, or undated and first seen in it
    requests: int = 0
    not_modified: int = 0  # requests answered 304
    size: int = 0  # bytes of the answers
    moved_to: str | None = None  # a permanent redirect: the URL to set in sources.fetch
    notes: tuple[str, ...] = ()


class Shortfall(BaseModel):
    """The sources that failed carried more than `sources.max_failed_share` of the last week's items."""

    model_config = ConfigDict(frozen=True)

    sources: tuple[str, ...]
    share: float  # of the last week's items, as the sources' last good copies carried them
    limit: float
    never_fetched: tuple[str, ...] = ()  # failed sources with no copy yet: weighed as an average source


class Fetched(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcomes: tuple[SourceOutcome, ...] = ()
    shortfall: Shortfall | None = None

    @property
    def paths(self) -> list[Path]:
        """The sources' copies to read: the new ones, and the last good ones of the sources that failed."""
        return [outcome.path for outcome in self.outcomes if outcome.path]

    @property
    def failed(self) -> list[SourceOutcome]:
        return [outcome for outcome in self.outcomes if outcome.outcome is Outcome.FAILED]


def fetch(settings: Settings, today: date, since: date | None = None, offline: bool = False) -> Fetched:
    """Fetch every source of `settings.sources` (none configured: nothing, and no request); WordPress posts
    from `since` (default `sources.days` before `today`). Offline, only say which copies there are."""
    sources = settings.sources
    copies = Copies(sources.cache_dir)
    if not sources.fetch:
        return Fetched()
    if offline:
        return Fetched(outcomes=tuple(_offline(source, copies) for source in sources.fetch))
    start = since or today - timedelta(days=sources.days)
    window = Window(datetime(start.year, start.month, start.day, tzinfo=UTC),
                    datetime(today.year, today.month, today.day, tzinfo=UTC) + timedelta(days=1))
    with open_store(settings.store, settings.list.id, settings.output.dir) as store, \
            store.lock("fetch", "another `weekly fetch` is running ({holder}); try again when it ends"):
        contact = sources.contact_url or settings.brand.site_url
        results = asyncio.run(_fetch_all(sources, contact, copies, window))
        outcomes = []
        for source, got in zip(sources.fetch, results, strict=True):
            outcome, items = _settle(source, got, copies, settings.ingest.max_file_mb)
            if items:
                outcome = _record_items(outcome, items, store, window)
            copies.save(source.name, _updated(copies.record(source.name, source.url), outcome, got.answers))
            outcomes.append(outcome)
    records = [copies.record(source.name, source.url) for source in sources.fetch]
    copies.http.prune({url for record in records for url in record.urls})
    weights = {record_of.name: record.week_items for record_of, record in zip(sources.fetch, records, strict=True)}
    return Fetched(outcomes=tuple(outcomes), shortfall=_shortfall(outcomes, weights, sources.max_failed_share))


class _Got(NamedTuple):
    """What the network gave for one source, before it is checked."""

    body: bytes = b""
    answers: tuple[Answer, ...] = ()
    notes: tuple[str, ...] = ()
    failure: Failure | None = None
    reason: str | None = None


async def _fetch_all(sources: SourcesSettings, contact_url: str, copies: Copies, window: Window) -> list[_Got]:
    async with Client(sources, contact_url, copies.http) as client:
        return list(await asyncio.gather(*(_fetch_one(client, source, window, sources.source_timeout_seconds)
                                           for source in sources.fetch)))


async def _fetch_one(client: Client, source: SourceSettings, window: Window, limit: float) -> _Got:
    try:
        async with asyncio.timeout(limit):
            if source.kind == "wordpress":
                posts = await wordpress_feed(client.get, source, window)
                return _Got(body=posts.feed, answers=tuple(posts.answers), notes=tuple(posts.notes))
            answer = await client.get(source.url, FEEDS)
            return _Got(body=answer.body, answers=(answer,))
    except FetchFailed as failed:
        return _Got(failure=failed.kind, reason=str(failed))
    except TimeoutError:
        return _Got(failure=Failure.TIMEOUT, reason=f"not fetched within {limit:g} s "
                                                    "(sources.source_timeout_seconds)")


def _settle(source: SourceSettings, got: _Got, copies: Copies, max_file_mb: float
            ) -> tuple[SourceOutcome, tuple[Item, ...]]:
    """Check what came (ingest must read items from it) and keep it as the source's copy, or say why not."""
    record = copies.record(source.name, source.url)
    kept = copies.copy_path(record)
    copied_at = datetime.fromtimestamp(record.fetched_at, UTC) if kept and record.fetched_at else None
    base = SourceOutcome(name=source.name, url=source.url, outcome=Outcome.FAILED, path=kept, copied_at=copied_at,
                         requests=len(got.answers), not_modified=sum(answer.not_modified for answer in got.answers),
                         size=sum(len(answer.body) for answer in got.answers), notes=got.notes,
                         moved_to=next((answer.moved_to for answer in got.answers if answer.moved_to), None))
    if got.failure is not None:
        return base.model_copy(update={"failure": got.failure, "reason": got.reason}), ()
    suffix = ".json" if got.body.lstrip()[:1] in (b"{", b"[") else ".xml"
    trial = copies.folder / f".{source_slug(source.name)}.trial{suffix}"
    copies.folder.mkdir(parents=True, exist_ok=True)
    try:
        trial.write_bytes(got.body)
        ingested = load_items([trial], max_file_mb)
    finally:
        trial.unlink(missing_ok=True)
    errors = [problem for problem in ingested.problems if problem.level == "error"]
    damaged = next((problem for problem in errors if problem.code == MALFORMED), None)
    if damaged is not None:  # the entries before the fault are no week's feed: the copy holds more
        return base.model_copy(update={"failure": Failure.NOT_A_FEED, "reason": damaged.message}), ()
    if not ingested.items and errors:
        return base.model_copy(update={"failure": Failure.NOT_A_FEED,
                                       "reason": _not_a_feed(got, errors[0].message)}), ()
    if not ingested.items and kept is not None and record.items:
        # A feed emptied by a fault on the site reads as a quiet week; the copy's stories are still the latest.
        return base.model_copy(update={"outcome": Outcome.KEPT, "items": record.items, "week_items": record.week_items,
                                       "reason": f"the answer has no items (the copy has {record.items})"}), ()
    name = copies.keep(source.name, got.body, suffix)
    for answer in got.answers:
        if not answer.not_modified:
            copies.http.put(answer.url, answer.body, answer.etag, answer.last_modified, answer.headers)
    everything_kept = bool(got.answers) and all(answer.not_modified for answer in got.answers)
    return base.model_copy(update={
        "outcome": Outcome.NOT_MODIFIED if everything_kept else Outcome.FETCHED, "path": copies.folder / name,
        "copied_at": datetime.now(UTC), "items": len(ingested.items)}), ingested.items


def _not_a_feed(got: _Got, ingest_says: str) -> str:
    content_type = next((answer.headers.get("content-type") for answer in got.answers), None) or "no Content-Type"
    start = got.body.lstrip()[:200].lower()
    if b"<html" in start or b"<!doctype html" in start or "html" in content_type:
        return f"an HTML page ({content_type.split(';')[0]}), not a feed"
    return f"not a feed ingest can read ({ingest_says})"


def _record_items(outcome: SourceOutcome, items: tuple[Item, ...], store: Store, window: Window) -> SourceOutcome:
    """The items in the store under the source's name, first seen now unless seen before; how many of them
    are the last week's (dated in it, or undated and first seen in it): the source's weight if it fails."""
    now = time.time()
    seen = store.items.see([item.model_copy(update={"source": outcome.name}) for item in items], None, now)
    week_start = window.before - timedelta(days=1) - WEEK
    week = sum(1 for item in items if (item.published >= week_start if item.published
                                       else seen[item.id].first_seen >= now - WEEK.total_seconds()))
    return outcome.model_copy(update={"week_items": week})


def _updated(record: SourceRecord, outcome: SourceOutcome, answers: tuple[Answer, ...]) -> SourceRecord:
    now = time.time()
    if outcome.outcome is Outcome.KEPT:
        return record
    if outcome.outcome is Outcome.FAILED:
        return record.model_copy(update={"failed_at": now, "reason": outcome.reason})
    assert outcome.path is not None
    return record.model_copy(update={"copy_name": outcome.path.name, "fetched_at": now, "items": outcome.items,
                                     "week_items": outcome.week_items, "failed_at": None, "reason": None,
                                     "urls": tuple(answer.url for answer in answers)})


def _shortfall(outcomes: list[SourceOutcome], weights: dict[str, int], limit: float) -> Shortfall | None:
    """Whether the sources that failed carried more than `limit` of the last week's items. A source never
    fetched weighs as the others do on average; when none carried anything, each source weighs the same."""
    failed = [outcome.name for outcome in outcomes if outcome.outcome is Outcome.FAILED]
    if not failed:
        return None
    known = [weight for weight in weights.values() if weight > 0]
    average = sum(known) / len(known) if known else 1.0
    weight = {name: float(value) if known else 1.0 for name, value in weights.items()}
    never = tuple(outcome.name for outcome in outcomes if outcome.outcome is Outcome.FAILED and outcome.path is None)
    for name in never:  # what it carries is unknown
        weight[name] = average
    total = sum(weight.values())
    share = sum(weight[name] for name in failed) / total if total else 1.0
    return Shortfall(sources=tuple(failed), share=share, limit=limit, never_fetched=never) if share > limit else None


def _offline(source: SourceSettings, copies: Copies) -> SourceOutcome:
    record = copies.record(source.name, source.url)
    path = copies.copy_path(record)
    return SourceOutcome(name=source.name, url=source.url, outcome=Outcome.OFFLINE, path=path, items=record.items,
                         copied_at=datetime.fromtimestamp(record.fetched_at, UTC) if path and record.fetched_at else None,
                         week_items=record.week_items,
                         notes=() if path else ("no copy yet: `weekly fetch` makes one",))
