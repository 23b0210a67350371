"""composer.sources against a real web server on 127.0.0.1 (tests/feed_server.py): feeds and a WordPress REST
API fetched as a feed reader does, each failure of a bad week, and the copies and items kept."""

from __future__ import annotations

import time
from datetime import date
from pathlib import Path

import pytest
from conftest import DATA, open_test_store
from feed_server import FeedServer
from smtp_server import self_signed_certificate

from composer.config import Settings, SourceSettings, SourcesSettings
from composer.ingest import load_items
from composer.sources import Failure, Fetched, Outcome, fetch

TODAY = date(2025, 5, 2)  # the seeds' posts are dated from 1 May 2025 18:00 back, every 5 hours


def settings_for(tmp_path: Path, *sources: SourceSettings, **options) -> Settings:
    values = {"cache_dir": tmp_path / "sources", "retry_base_seconds": 0.01, "timeout_seconds": 10, **options}
    return Settings(sources=SourcesSettings(fetch=sources, **values))


def wordpress(server: FeedServer, name: str = "dig.watch updates") -> SourceSettings:
    return SourceSettings(name=name, url=server.url("/wp-json/wp/v2"), kind="wordpress", post_type="updates",
                          per_page=10)


def feed(server: FeedServer, name: str, path: str) -> SourceSettings:
    return SourceSettings(name=name, url=server.url(path))


def by_name(fetched: Fetched) -> dict:
    return {outcome.name: outcome for outcome in fetched.outcomes}


def test_feeds_and_wordpress_are_fetched_then_asked_only_for_what_changed(tmp_path):
    """An RSS feed, a JSON Feed and a WordPress API are fetched into copies ingest reads; the second fetch
    sends each URL's ETag and Last-Modified back, every answer is a 304, and the copies stay as they were."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, feed(server, "Guardian", "/feeds/guardian-us-2018.rss"),
                                feed(server, "JSON Feed", "/feeds/jsonfeed-example.json"), wordpress(server))
        first = by_name(fetch(settings, TODAY))
        copies = {name: outcome.path.read_bytes() for name, outcome in first.items()}
        asked = len(server.requests)
        second = by_name(fetch(settings, TODAY))
        again = server.requests[asked:]
    assert [outcome.outcome for outcome in first.values()] == [Outcome.FETCHED] * 3
    assert (first["Guardian"].items, first["JSON Feed"].items) == (55, 20)
    assert first["Guardian"].path.read_bytes() == (DATA / "corpus" / "guardian-us-2018.rss").read_bytes()
    assert first["JSON Feed"].path.suffix == ".json"
    assert [outcome.outcome for outcome in second.values()] == [Outcome.NOT_MODIFIED] * 3
    assert len(again) == asked == 8  # 1 + 1 + three pages of posts, categories, tags and media
    assert all(request.headers.get("if-none-match") and request.headers.get("if-modified-since") for request in again)
    assert {request.status for request in again} == {304}
    assert second["dig.watch updates"].not_modified == second["dig.watch updates"].requests == 6
    assert {name: outcome.path.read_bytes() for name, outcome in second.items()} == copies


def test_wordpress_posts_of_the_week_every_page_with_names_and_pictures(tmp_path):
    """The posts come by after/before, page by page up to X-WP-TotalPages; the older posts are not asked for;
    categories and tags are names, the featured image and its alt text lead the item, dates are UTC."""
    with FeedServer() as server:
        outcome = fetch(settings_for(tmp_path, wordpress(server)), TODAY).outcomes[0]
        pages = server.seen("/wp-json/wp/v2/updates")
    assert [request.query["page"] for request in pages] == ["1", "2", "3"]
    assert {(request.query["after"], request.query["before"]) for request in pages} == {
        ("2025-04-24T00:00:00Z", "2025-05-03T00:00:00Z")}
    items = load_items([outcome.path]).items
    assert len(items) == outcome.items == 29  # the 3 posts three weeks older are outside `after`
    first, second = items[0], items[1]
    assert first.title == "CERN unveils AI strategy to advance research and operations"
    assert first.url == "https://dig.watch/updates/post-1000/"
    assert first.published.isoformat() == "2025-05-01T18:00:00+00:00"
    assert first.tags == ("Cybersecurity",) and first.image_url is None  # no featured image
    assert second.tags == ("Legal & regulatory", "Data protection")
    assert second.image_url == "https://dig.watch/wp-content/uploads/2025/05/picture-501.jpg"
    assert second.image_alt == "Picture 501 of the story"
    assert "[…]" not in " ".join(second.paragraphs)  # the content, not the excerpt


def test_wordpress_event_category_makes_events_and_since_moves_the_window(tmp_path):
    """A post filed under Events is an event, as in the site's feed; `since` starts the query on that day."""
    with FeedServer() as server:
        server.posts = [post._replace(categories=(9,)) if post.id == 1001 else post for post in server.posts]
        outcome = fetch(settings_for(tmp_path, wordpress(server)), TODAY, since=date(2025, 4, 30)).outcomes[0]
        after = {request.query["after"] for request in server.seen("/wp-json/wp/v2/updates")}
    items = load_items([outcome.path]).items
    assert after == {"2025-04-30T00:00:00Z"}
    assert [item.kind for item in items if item.kind != "news"] == ["event"]
    assert len(items) == 9  # 1 May 18:00 back to 30 April 02:00, every 5 hours


def test_gzip_user_agent_and_accept(tmp_path):
    """The client asks for gzip and decodes it; it names weekly, its version and the contact URL."""
    with FeedServer() as server:
        outcome = fetch(settings_for(tmp_path, feed(server, "Guardian", "/feeds/guardian-us-2018.rss"),
                                     contact_url="https://example.org/newsletter-contact"), TODAY).outcomes[0]
        request = server.requests[0]
    assert "gzip" in request.headers["accept-encoding"]
    assert request.gzipped
    assert outcome.size == (DATA / "corpus" / "guardian-us-2018.rss").stat().st_size  # decoded
    assert request.headers["user-agent"] == "weekly/0.1.0 (newsletter composer; +https://example.org/newsletter-contact)"
    assert request.headers["accept"].startswith("application/rss+xml, application/atom+xml, application/feed+json")


def test_no_more_requests_at_once_to_a_host_than_per_host(tmp_path):
    """Six feeds on one host, each answer slow: never more than `per_host` requests in flight there."""
    with FeedServer() as server:
        server.delay = 0.2
        sources = [feed(server, f"feed {n}", "/feeds/wordpress.rss") for n in range(6)]
        fetched = fetch(settings_for(tmp_path, *sources, per_host=2), TODAY)
    assert [outcome.outcome for outcome in fetched.outcomes] == [Outcome.FETCHED] * 6
    assert server.most_in_flight <= 2
    assert len(server.requests) == 6


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


# Each failure of a bad week: (the path on the test server, or a URL; the kind; words of the reason; the
# requests it costs, retries included, where the server sees them; the settings it is fetched with).
FAILURES = {
    "dns": ("http://feeds.example.invalid/feed", Failure.DNS, "cannot resolve feeds.example.invalid (DNS", None, {}),
    "tls": ("https", Failure.TLS, "TLS: the certificate of 127.0.0.1 is not trusted (self", None, {}),
    "500": ("/fail/500", Failure.HTTP, "HTTP 500 Internal Server Error (after 3 tries)", 3, {}),
    "404": ("/fail/404", Failure.HTTP, "HTTP 404 Not Found", 1, {}),
    "html": ("/fail/html", Failure.NOT_A_FEED, "an HTML page (text/html), not a feed", 1, {}),
    "50 MB": ("/fail/huge", Failure.TOO_LARGE, "over the 10 MB cap (sources.max_mb); stopped reading", 1, {}),
    "50 MB announced": ("/fail/huge-announced", Failure.TOO_LARGE, "the answer is 50.0 MB, over the 10 MB cap "
                        "(sources.max_mb); not read", 1, {}),
    "gzip bomb": ("/fail/gzip-bomb", Failure.TOO_LARGE, "over the 10 MB cap (sources.max_mb); stopped reading", 1, {}),
    # A stalled body waits out the request's time limit on each try; the whole source has one of its own.
    "stalled": ("/fail/stalled", Failure.TIMEOUT, "the answer stalled after 0 KB: not whole within 2 s (sources."
                "timeout_seconds) (after 2 tries)", 2, {"timeout_seconds": 2, "retries": 1}),
    "stalled source": ("/fail/stalled", Failure.TIMEOUT, "not fetched within 2 s (sources.source_timeout_seconds)", 1,
                       {"source_timeout_seconds": 2}),
    "redirect loop": ("/fail/loop", Failure.REDIRECTS, "more than 5 redirects (sources.max_redirects)", 6, {}),
}


@pytest.mark.parametrize("case", list(FAILURES))
def test_each_failure_is_one_outcome_and_the_others_are_fetched(case, tmp_path, certificate):
    """Each failure is the failing source's outcome, with its kind and reason and the requests it cost (retries
    after 5xx and timeouts only); the other source is fetched all the same."""
    where, kind, reason, requests, options = FAILURES[case]
    with FeedServer() as server, FeedServer(tls=certificate) as secure:
        url = secure.url("/feeds/wordpress.rss") if where == "https" else where if "://" in where else server.url(where)
        bad = SourceSettings(name=f"the {case} source", url=url)
        fetched = fetch(settings_for(tmp_path, bad, feed(server, "good", "/feeds/wordpress.rss"),
                                     **{"retries": 2, **options}), TODAY)
        asked = server.counts.get(urlpath(url), 0)  # counted as they come: a stalled one is still open
    failed, good = fetched.outcomes
    assert (failed.outcome, failed.failure) == (Outcome.FAILED, kind)
    assert reason in failed.reason
    assert failed.path is None  # nothing of it is read
    assert good.outcome is Outcome.FETCHED and good.items == 2
    assert fetched.paths == [good.path]
    if requests is not None:
        assert asked == requests


def urlpath(url: str) -> str:
    return "/" + url.split("/", 3)[3]


def test_retries_mend_a_server_that_restarts(tmp_path):
    """Two 503s then the feed: fetched on the third try, after a short backoff."""
    with FeedServer() as server:
        outcome = fetch(settings_for(tmp_path, feed(server, "flaky", "/fail/flaky"), retries=2), TODAY).outcomes[0]
        tries = len(server.seen("/fail/flaky"))
    assert (outcome.outcome, outcome.items, tries) == (Outcome.FETCHED, 2, 3)


def test_a_permanent_redirect_is_reported_a_temporary_one_is_not(tmp_path):
    """A 301 is followed and its new URL reported (to set in sources.fetch); a 302 is only followed."""
    with FeedServer() as server:
        moved, found = fetch(settings_for(tmp_path, feed(server, "moved", "/fail/moved"),
                                          feed(server, "found", "/fail/found")), TODAY).outcomes
        target = server.url("/feeds/wordpress.rss")
    assert (moved.outcome, moved.items, moved.moved_to) == (Outcome.FETCHED, 2, target)
    assert (found.outcome, found.items, found.moved_to) == (Outcome.FETCHED, 2, None)


def test_a_failure_keeps_the_last_good_copy_and_it_is_still_read(tmp_path):
    """A source that answered well once and fails now keeps its copy (named with its date), never replaced by
    the error page; its conditional request is sent again next time."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, wordpress(server), retries=0)
        good = fetch(settings, TODAY).outcomes[0]
        copy = good.path.read_bytes()
        server.broken.add("/wp-json/wp/v2/updates")
        failed = fetch(settings, TODAY).outcomes[0]
        server.broken.clear()
        mended = fetch(settings, TODAY).outcomes[0]
    assert (failed.outcome, failed.failure, failed.reason) == (Outcome.FAILED, Failure.HTTP,
                                                               "HTTP 500 Internal Server Error")
    assert failed.path == good.path and failed.path.read_bytes() == copy
    assert failed.copied_at is not None and abs(failed.copied_at.timestamp() - time.time()) < 600
    assert mended.outcome is Outcome.NOT_MODIFIED


# A source of each kind, what cuts its answer off, and what empties it: (the source, the path its answers come
# from, the bytes they are cut to, a reason's words, how to empty the source).
EMPTY_RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>Guardian</title></channel></rss>'
EMPTY_JSON_FEED = b'{"version": "https://jsonfeed.org/version/1.1", "title": "JSON Feed", "items": []}'
KINDS = {
    "RSS": (lambda server: feed(server, "Guardian", "/feeds/guardian-us-2018.rss"), "/feeds/guardian-us-2018.rss",
            20000, "not well-formed XML: no element found at line ",
            lambda server: server.bodies.update({"/feeds/guardian-us-2018.rss": (EMPTY_RSS, "application/rss+xml")})),
    "JSON Feed": (lambda server: feed(server, "JSON Feed", "/feeds/jsonfeed-example.json"),
                  "/feeds/jsonfeed-example.json", 3000, "not valid JSON",
                  lambda server: server.bodies.update({"/feeds/jsonfeed-example.json": (EMPTY_JSON_FEED,
                                                                                         "application/feed+json")})),
    "WordPress": (wordpress, "/wp-json/wp/v2/updates", 5000, "the WordPress REST API's posts are not valid JSON "
                  "(Unterminated string", lambda server: setattr(server, "posts", [])),
}


@pytest.mark.parametrize("kind", list(KINDS))
def test_a_cut_off_answer_fails_and_never_replaces_the_copy(kind, tmp_path):
    """An answer cut off mid-way (`head -c`, as a proxy or a full disk leaves it) is a failure of the source, though
    the entries before the cut could be read: the last good copy is kept whole and read, and once the site mends,
    the conditional request for it is answered 304."""
    source, path, cut, reason, _ = KINDS[kind]
    with FeedServer() as server:
        settings = settings_for(tmp_path, source(server), retries=0)
        good = fetch(settings, TODAY).outcomes[0]
        copy = good.path.read_bytes()
        server.cut[path] = cut
        failed = fetch(settings, TODAY).outcomes[0]
        server.cut.clear()
        mended = fetch(settings, TODAY).outcomes[0]
    assert (failed.outcome, failed.failure) == (Outcome.FAILED, Failure.NOT_A_FEED)
    assert reason in failed.reason
    assert failed.path == good.path and failed.path.read_bytes() == copy
    assert len(load_items([failed.path]).items) == good.items
    assert mended.outcome is Outcome.NOT_MODIFIED and mended.items == good.items


@pytest.mark.parametrize("kind", list(KINDS))
def test_an_empty_answer_keeps_a_copy_that_had_items(kind, tmp_path):
    """A valid answer with no items where the copy had some (a feed emptied by a fault on the site) keeps the
    copy, read as before, with the reason for a warning; a source whose first answer is empty has an empty copy."""
    source, _, _, _, empty = KINDS[kind]
    with FeedServer() as server:
        settings = settings_for(tmp_path, source(server), retries=0)
        good = fetch(settings, TODAY).outcomes[0]
        copy = good.path.read_bytes()
        empty(server)
        emptied = fetch(settings, TODAY).outcomes[0]
        new = fetch(settings_for(tmp_path / "new", source(server)), TODAY).outcomes[0]
    assert (emptied.outcome, emptied.failure, emptied.reason) == (Outcome.KEPT, None,
                                                                  f"the answer has no items (the copy has {good.items})")
    assert emptied.path == good.path and emptied.path.read_bytes() == copy
    assert (emptied.items, emptied.week_items) == (good.items, good.week_items)
    assert abs(emptied.copied_at - good.copied_at).total_seconds() < 1  # the copy's date, not the empty answer's
    assert (new.outcome, new.items) == (Outcome.FETCHED, 0)


def test_a_wordpress_url_that_is_no_api_says_so(tmp_path):
    """The site's home page where the API's root should be: an HTML page, and the root it should be."""
    with FeedServer() as server:
        source = SourceSettings(name="wrong root", url=server.url("/site/"), kind="wordpress", post_type="updates")
        outcome = fetch(settings_for(tmp_path, source), TODAY).outcomes[0]
    assert (outcome.outcome, outcome.failure) == (Outcome.FAILED, Failure.NOT_A_FEED)
    assert outcome.reason == ("an HTML page (text/html), not the WordPress REST API's posts: is the URL the API's "
                              "root (https://SITE/wp-json/wp/v2)?")


def test_fetched_items_land_in_the_store_once_with_their_source(tmp_path):
    """Each item fetched is recorded once, with its source's name and the time it was first seen, not yet any
    issue's: the same story in the site's API and in another feed is one item, and a second fetch of the same
    stories adds nothing and keeps the first time."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, wordpress(server), feed(server, "Undated", "/undated.rss"))
        before = time.time()
        first = fetch(settings, TODAY)
        items = [item for path in first.paths for item in load_items([path]).items]
        with open_test_store() as store:
            seen = store.items.seen(item.id for item in items)
        fetch(settings, TODAY)
        with open_test_store() as store:
            again = store.items.seen(item.id for item in items)
    assert len(items) == 29 + 5 and len(seen) == 29  # the undated feed tells five of the API's stories
    assert {entry.source for entry in seen.values()} == {"dig.watch updates"}
    assert all(before <= entry.first_seen <= time.time() and entry.first_issue is None for entry in seen.values())
    assert again == seen
    assert [outcome.week_items for outcome in first.outcomes] == [29, 5]  # undated: first seen this week


def test_what_failed_sources_carried_decides_the_shortfall(tmp_path):
    """The sources that failed are weighed by the last week's items their last good copies carried: the one
    that carries most of the week failing is a shortfall; a small one failing is not."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, wordpress(server), feed(server, "small", "/feeds/wordpress.rss"), retries=0)
        assert fetch(settings, TODAY).shortfall is None
        server.broken.add("/feeds/wordpress.rss")
        small_failed = fetch(settings, TODAY)
        server.broken = {"/wp-json/wp/v2/updates"}
        big_failed = fetch(settings, TODAY)
        server.broken.clear()
        never = fetch(settings_for(tmp_path, wordpress(server), feed(server, "new", "/fail/500"), retries=0,
                                   max_failed_share=0.4), TODAY)
    assert [outcome.name for outcome in small_failed.failed] == ["small"] and small_failed.shortfall is None
    assert big_failed.shortfall is not None
    assert big_failed.shortfall.sources == ("dig.watch updates",)
    assert big_failed.shortfall.share == pytest.approx(29 / 31)
    # A source that never answered weighs as much as the others do on average.
    assert never.shortfall is not None and never.shortfall.sources == ("new",) and never.shortfall.share == 0.5
    assert never.shortfall.never_fetched == ("new",) and big_failed.shortfall.never_fetched == ()  # an estimate, said


def test_offline_makes_no_request_and_names_the_copies(tmp_path):
    """Offline, no request is sent: the copies fetched before are named, and a source never fetched has none."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, wordpress(server), feed(server, "new", "/feeds/wordpress.rss"))
        fetch(settings_for(tmp_path, wordpress(server)), TODAY)
        asked = len(server.requests)
        offline = fetch(settings, TODAY, offline=True)
        assert len(server.requests) == asked
    kept, new = offline.outcomes
    assert (kept.outcome, kept.items, kept.path.name) == (Outcome.OFFLINE, 29, "dig-watch-updates.xml")
    assert new.path is None and new.notes == ("no copy yet: `weekly fetch` makes one",)
    assert offline.paths == [kept.path] and offline.shortfall is None


def test_no_sources_no_request_and_no_store(tmp_path):
    """Without sources (the README's first command on seeds/), fetch does nothing at all."""
    fetched = fetch(Settings(sources=SourcesSettings(cache_dir=tmp_path / "sources")), TODAY)
    assert fetched.outcomes == () and not (tmp_path / "sources").exists()


def test_only_the_urls_of_the_last_good_copies_are_kept(tmp_path):
    """A WordPress query names its days: the answers of an earlier window are forgotten, not kept for ever."""
    with FeedServer() as server:
        settings = settings_for(tmp_path, wordpress(server))
        fetch(settings, TODAY, since=date(2025, 4, 30))
        fetch(settings, TODAY)
        asked_last = {request.query.get("page") for request in server.requests[-6:]}
    kept = sorted((tmp_path / "sources" / ".http").glob("*.json"))
    assert len(kept) == 6 and asked_last == {"1", "2", "3", None}  # three pages, categories, tags, media
    assert all("2025-04-30" not in path.read_text() for path in kept)
