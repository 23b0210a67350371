"""`weekly fetch`, and `weekly build`/`run` fetching first, against a real web server on 127.0.0.1: the issue
built from two feeds and a WordPress API, a bad week's failures one line each, and cron refusing to send
when the sources that carry most of the week failed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import yaml
from conftest import IDENTITY, KEY, ROOT, open_test_store, run_weekly, write_list
from feed_server import FeedServer
from smtp_server import Server, self_signed_certificate

TODAY = "2025-05-02"


def sources_env(tmp_path: Path, sources: list[dict], **settings: str) -> dict[str, str]:
    """The environment of a deployment whose sources are `sources`, its state and output under `tmp_path`."""
    env = {name: value for name, value in os.environ.items() if "proxy" not in name.lower()}
    env.update({"WEEKLY_SOURCES__FETCH": json.dumps(sources), "WEEKLY_SOURCES__CACHE_DIR": str(tmp_path / "sources"),
                "WEEKLY_SOURCES__RETRY_BASE_SECONDS": "0.01", "WEEKLY_OUTPUT__DIR": str(tmp_path / "out"),
                "WEEKLY_LOG__FILE": str(tmp_path / "weekly.log"), "WEEKLY_ISSUE__FIRST_NUMBER": "210",
                "COLUMNS": "200", **settings})
    return env


def dig_watch(server: FeedServer) -> list[dict]:
    """Two feeds from the corpus (an RSS feed, a JSON Feed) and the site's REST API for its updates."""
    return [{"name": "Guardian US", "url": server.url("/feeds/guardian-us-2018.rss")},
            {"name": "JSON Feed", "url": server.url("/feeds/jsonfeed-example.json")},
            {"name": "dig.watch updates", "url": server.url("/wp-json/wp/v2"), "kind": "wordpress",
             "post_type": "updates", "per_page": 10}]


def test_build_fetches_two_feeds_and_a_wordpress_api_and_a_second_fetch_gets_304s(tmp_path):
    """`weekly build` fetches the two feeds and the API, then builds the week's issue from them; a second
    `weekly fetch` sends conditional requests only and every answer is a 304."""
    with FeedServer() as server:
        env = sources_env(tmp_path, dig_watch(server))
        built = run_weekly("build", "--today", TODAY, env=env, cwd=tmp_path)
        first = len(server.requests)
        again = run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path)
        second = server.requests[first:]
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("DW Weekly #210 (25 April – 2 May 2025) from 104 items: 10 Radar")
    draft = yaml.safe_load((tmp_path / "out" / "210" / "issue.yaml").read_text(encoding="utf-8"))
    assert all(entry["url"].startswith("https://dig.watch/updates/post-") for entry in draft["sections"]["radar"])
    assert (tmp_path / "out" / "210" / "index.html").is_file()
    assert first == 8 and len(second) == 8
    assert all(request.headers.get("if-none-match") and request.status == 304 for request in second)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        f"Guardian US: not modified, 55 items (0 of the last week); 1 request, 1 not modified (304) -> "
        f"{tmp_path}/sources/guardian-us.xml",
        f"JSON Feed: not modified, 20 items (0 of the last week); 1 request, 1 not modified (304) -> "
        f"{tmp_path}/sources/json-feed.json",
        f"dig.watch updates: not modified, 29 items (29 of the last week); 6 requests, 6 not modified (304) -> "
        f"{tmp_path}/sources/dig-watch-updates.xml"]


def test_items_show_the_source_and_when_first_seen_and_an_undated_item_is_the_next_issues(tmp_path):
    """`weekly items` reads the sources' copies and shows each item's source and when it was first seen; an
    undated item fetched before #210 is composed becomes #210's, and stays first seen when fetched again."""
    with FeedServer() as server:
        server.posts = server.posts[5:]  # the undated feed's five stories are its own
        env = sources_env(tmp_path, [{"name": "Undated", "url": server.url("/undated.rss")}])
        assert run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path).returncode == 0
        with open_test_store() as store:
            fetched = store.items.seen(store_ids(tmp_path))
        listed = run_weekly("items", env=env, cwd=tmp_path)
        built = run_weekly("build", "--today", TODAY, env=env, cwd=tmp_path)
        with open_test_store() as store:
            composed = store.items.seen(store_ids(tmp_path))
    assert listed.returncode == 0, listed.stderr
    rows = [line for line in listed.stdout.splitlines() if "│ Undated " in line]
    assert len(rows) == 5
    assert all(f"{fetched_day(fetched)} " in row for row in rows)
    assert built.returncode == 0, built.stderr
    assert {seen.first_issue for seen in fetched.values()} == {None}
    assert {seen.first_issue for seen in composed.values()} == {210}
    assert {seen.first_seen for seen in composed.values()} == {seen.first_seen for seen in fetched.values()}


def store_ids(tmp_path: Path) -> list[str]:
    from composer.ingest import load_items

    return [item.id for item in load_items([tmp_path / "sources"]).items]


def fetched_day(seen: dict) -> str:
    from datetime import UTC, datetime

    return {f"{datetime.fromtimestamp(entry.first_seen, UTC):%Y-%m-%d %H:%M}" for entry in seen.values()}.pop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed_certificate(tmp_path_factory.mktemp("tls"))


def test_a_bad_week_one_line_per_failed_source_and_the_issue_built_from_the_others(tmp_path, certificate):
    """DNS, TLS, a 500, an HTML page, a 50 MB answer and a stalled body: one `error:` line each naming the
    source and the reason, the others fetched and the issue built from them, exit 1."""
    with FeedServer() as server, FeedServer(tls=certificate) as secure:
        bad = {"no such host": "http://feeds.example.invalid/rss", "self-signed": secure.url("/feeds/wordpress.rss"),
               "server error": server.url("/fail/500"), "home page": server.url("/fail/html"),
               "fifty megabytes": server.url("/fail/huge"), "stalled": server.url("/fail/stalled")}
        sources = [*dig_watch(server), *({"name": name, "url": url} for name, url in bad.items())]
        env = sources_env(tmp_path, sources, WEEKLY_SOURCES__TIMEOUT_SECONDS="3", WEEKLY_SOURCES__RETRIES="0")
        built = run_weekly("build", "--today", TODAY, env=env, cwd=tmp_path)
    errors = [line for line in built.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [
        "error: source no such host (http://feeds.example.invalid/rss): cannot resolve feeds.example.invalid (DNS: "
        f"{errors[0].split('(DNS: ')[1]}",
        f"error: source self-signed ({bad['self-signed']}): TLS: the certificate of 127.0.0.1 is not trusted "
        f"{errors[1].split('is not trusted ')[1]}",
        f"error: source server error ({bad['server error']}): HTTP 500 Internal Server Error; "
        "nothing of it is read",
        f"error: source home page ({bad['home page']}): an HTML page (text/html), not a feed; nothing of it is read",
        f"error: source fifty megabytes ({bad['fifty megabytes']}): the answer is over the 10 MB cap "
        "(sources.max_mb); stopped reading; nothing of it is read",
        f"error: source stalled ({bad['stalled']}): the answer stalled after 0 KB: not whole within 3 s "
        "(sources.timeout_seconds); nothing of it is read"]
    assert all(line.endswith("; nothing of it is read") for line in errors)
    assert built.returncode == 1
    assert built.stdout.startswith("DW Weekly #210 (25 April – 2 May 2025) from 104 items: 10 Radar")
    assert (tmp_path / "out" / "210" / "index.html").is_file()


def test_cron_sends_nothing_when_the_sources_carrying_most_of_the_week_failed(tmp_path):
    """`weekly run --send`: with the site's API down (it carried 29 of the last week's 31 items) the issue is
    built and nothing is sent, naming the source; with only the small feed down it is sent; `--offline` sends
    from the copies kept before."""
    subscribers = write_list(tmp_path / "list.csv", 3)
    with FeedServer() as server, Server() as smtp:
        sources = [dig_watch(server)[2], {"name": "dig.watch feed", "url": server.url("/feeds/wordpress.rss")}]
        env = sources_env(tmp_path, sources, **IDENTITY, WEEKLY_SIGNING_KEY=KEY, WEEKLY_ISSUE__APPROVAL="auto",
                          WEEKLY_LIST__SUBSCRIBERS=str(subscribers), WEEKLY_SMTP__HOST="127.0.0.1",
                          WEEKLY_SMTP__PORT=str(smtp.port), WEEKLY_SMTP__SECURITY="none",
                          WEEKLY_SOURCES__RETRIES="0")
        assert run_weekly("fetch", "--today", "2025-05-01", env=env, cwd=tmp_path).returncode == 0
        server.broken.add("/wp-json/wp/v2/updates")
        refused = run_weekly("run", "--send", "--today", TODAY, env=env, cwd=tmp_path)
        received_then = len(smtp.recorder.received())
        server.broken = {"/feeds/wordpress.rss"}
        sent = run_weekly("run", "--send", "--today", TODAY, env=env, cwd=tmp_path)
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1] == (
        "error: #210 ({out}) was not sent: the sources that failed (dig.watch updates) carried 94% of the last week's "
        "items, more than sources.max_failed_share (50%): fix them and run again, or send from the copies kept before "
        "with `weekly run --send --offline`").format(out=tmp_path / "out" / "210")
    assert received_then == 0
    assert "was not sent: the sources that failed (dig.watch updates)" in (tmp_path / "weekly.log").read_text()
    assert sent.returncode == 1  # sent, and the small feed's failure still says so
    assert f"error: source dig.watch feed ({sources[1]['url']}): HTTP 500 Internal Server Error; its copy of " \
           in sent.stderr
    assert "sent 3 now" in sent.stdout
    assert set(smtp.recorder.received().values()) == {1}


def test_offline_reads_the_copies_without_a_request(tmp_path):
    """`weekly build --offline` sends no request and builds from the copies the last fetch kept."""
    with FeedServer() as server:
        env = sources_env(tmp_path, dig_watch(server))
        assert run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path).returncode == 0
        asked = len(server.requests)
        built = run_weekly("build", "--offline", "--today", TODAY, env=env, cwd=tmp_path)
        assert len(server.requests) == asked
    assert built.returncode == 0, built.stderr
    assert built.stdout.startswith("DW Weekly #210 (25 April – 2 May 2025) from 104 items")


def test_fetch_reports_a_moved_feed_and_needs_sources(tmp_path):
    """A permanent redirect is a warning with the URL to set; a failure makes `weekly fetch` exit 1; without
    sources it says where to list them."""
    with FeedServer() as server:
        env = sources_env(tmp_path, [{"name": "moved", "url": server.url("/fail/moved")},
                                     {"name": "gone", "url": server.url("/fail/404")}])
        fetched = run_weekly("fetch", env=env, cwd=tmp_path)
        target = server.url("/feeds/wordpress.rss")
    assert fetched.returncode == 1
    assert fetched.stderr.splitlines() == [
        f"warning: source moved: {server.url('/fail/moved')} moved permanently to {target}; set that URL in "
        "sources.fetch",
        f"error: source gone ({server.url('/fail/404')}): HTTP 404 Not Found; nothing of it is read"]
    nothing = run_weekly("build", "--offline", env=sources_env(tmp_path / "new", [{"name": "new", "url": target}]),
                         cwd=tmp_path)
    assert (nothing.returncode, nothing.stderr.splitlines()[-1]) == (1, "error: nothing to read: no source in "
                                                                       "sources.fetch has a good copy yet (`weekly "
                                                                       "fetch` makes them) and no PATHS were given")
    bare = run_weekly("fetch", env={**sources_env(tmp_path, []), "WEEKLY_SOURCES__FETCH": "[]"}, cwd=tmp_path)
    assert (bare.returncode, bare.stderr) == (1, "error: no sources to fetch: list them in sources.fetch "
                                                 "(config/weekly.toml; README: Sources)\n")


def test_an_issue_the_editor_approved_is_sent_though_a_source_failed(tmp_path):
    """The refusal is about what this run would build: an issue approved before the fetch failed is sent."""
    subscribers = write_list(tmp_path / "list.csv", 2)
    with FeedServer() as server, Server() as smtp:
        env = sources_env(tmp_path, [dig_watch(server)[2]], **IDENTITY, WEEKLY_SIGNING_KEY=KEY,
                          WEEKLY_LIST__SUBSCRIBERS=str(subscribers), WEEKLY_SMTP__HOST="127.0.0.1",
                          WEEKLY_SMTP__PORT=str(smtp.port), WEEKLY_SMTP__SECURITY="none", WEEKLY_SOURCES__RETRIES="0")
        assert run_weekly("run", "--today", TODAY, env=env, cwd=tmp_path).returncode == 0
        assert run_weekly("approve", "210", env=env, cwd=tmp_path).returncode == 0
        server.broken.add("/wp-json/wp/v2/updates")
        sent = run_weekly("run", "--send", "--today", TODAY, env=env, cwd=tmp_path)
    assert sent.returncode == 1  # the source's failure is still reported
    assert "error: source dig.watch updates" in sent.stderr and "was not sent" not in sent.stderr
    assert "sent 2 now" in sent.stdout
    assert set(smtp.recorder.received().values()) == {1}


def test_the_readme_shows_sources_settings_that_load(tmp_path):
    """The README's sources for dig.watch are settings weekly reads: the API's updates and the RSS feed."""
    from composer.config import load_settings

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = readme.split("\n## Sources\n", 1)[1].split("```toml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "weekly.toml").write_text(block, encoding="utf-8")
    sources = load_settings(tmp_path / "weekly.toml", None).sources
    assert [(source.name, source.kind, source.url) for source in sources.fetch] == [
        ("dig.watch updates", "wordpress", "https://dig.watch/wp-json/wp/v2"),
        ("dig.watch", "feed", "https://dig.watch/feed")]
    assert sources.fetch[0].post_type == "updates"
    assert "## Sources" in readme and "A source that fails" in readme.split("### From cron", 1)[1]


def wire_feed(stories: int) -> bytes:
    """An RSS feed of `stories` stories of 1 May 2025, on one line as many sites write them."""
    items = "".join(f"<item><title>Regulator fines platform {n} over data transfers</title><link>https://example.org/"
                    f"wire/{n}</link><pubDate>Thu, 01 May 2025 {n:02d}:00:00 GMT</pubDate><description>&lt;p&gt;The "
                    f"data protection authority fined platform {n} for transferring personal data abroad without "
                    "safeguards, after a two-year investigation.&lt;/p&gt;</description></item>"
                    for n in range(stories))
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
            f"<link>https://example.org/</link>{items}</channel></rss>").encode()


def test_fetch_never_replaces_a_copy_by_a_cut_off_or_empty_feed(tmp_path):
    """The trial's feed of 12 stories, then cut off by `head -c 3000`: one `error:` line naming the source and the
    fault, exit 1, the copy kept whole and read; then a valid feed with an empty channel: a `warning:`, exit 0,
    the copy's 12 stories still read."""
    with FeedServer() as server:
        url = server.url("/feeds/wire.rss")
        env = sources_env(tmp_path, [{"name": "Wire", "url": url}], WEEKLY_SOURCES__RETRIES="0")
        server.bodies["/feeds/wire.rss"] = (wire_feed(12), "application/rss+xml")
        good = run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path)
        copy = (tmp_path / "sources" / "wire.xml").read_bytes()
        server.cut["/feeds/wire.rss"] = 3000
        cut = run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path)
        server.cut.clear()
        server.bodies["/feeds/wire.rss"] = (wire_feed(0), "application/rss+xml")
        emptied = run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path)
        items = run_weekly("items", "--json", env=env, cwd=tmp_path)
    path = tmp_path / "sources" / "wire.xml"
    assert (good.returncode, good.stdout.split(";")[0]) == (0, "Wire: fetched, 12 items (12 of the last week)")
    assert cut.returncode == 1 and cut.stdout == ""
    error, *shortfall = cut.stderr.splitlines()
    assert shortfall == ["warning: the sources that failed (Wire) carried 100% of the last week's items, more than "
                         "sources.max_failed_share (50%)", "error: `weekly run --send` would send nothing"]
    assert error.startswith(f"error: source Wire ({url}): not well-formed XML: no element found at line 1, column "
                            "3001 (cut off or damaged?); its copy of ")
    assert error.endswith(" UTC is read instead")
    assert emptied.returncode == 0
    assert emptied.stderr.splitlines() == [f"warning: source Wire ({url}): the answer has no items (the copy has 12); "
                                           f"{error.split('; ', 1)[1]}"]
    assert emptied.stdout == f"Wire: copy kept, 12 items (12 of the last week); 1 request, 0 KB -> {path}\n"
    assert path.read_bytes() == copy
    assert len(json.loads(items.stdout)) == 12


def test_a_source_that_never_answered_is_weighed_as_an_estimate_and_said_so(tmp_path):
    """On a first fetch a source that fails has carried nothing yet: it counts as an average source, and the
    shortfall line says that its share is an estimate and why, instead of stating it as a fact."""
    with FeedServer() as server:
        server.bodies["/feeds/wire.rss"] = (wire_feed(12), "application/rss+xml")
        env = sources_env(tmp_path, [{"name": "Wire", "url": server.url("/feeds/wire.rss")},
                                     {"name": "New", "url": server.url("/fail/500")}],
                          WEEKLY_SOURCES__RETRIES="0", WEEKLY_SOURCES__MAX_FAILED_SHARE="0.4")
        first = run_weekly("fetch", "--today", TODAY, env=env, cwd=tmp_path)
    assert first.returncode == 1
    assert ("warning: the sources that failed (New) would carry about 50% of the week's items, more than "
            "sources.max_failed_share (40%); New never answered yet, so each is counted as an average source"
            ) in first.stderr.splitlines(), first.stderr
