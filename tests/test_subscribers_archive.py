"""The archive as readers reach it: every link of the index, the web versions and the feed answers 200 under
`weekly serve`, through the README's nginx and Caddy blocks as written, with the default brand settings;
the Atom feed is valid; web versions carry og: tags and a subscribe link; list mode's footer link works."""

from __future__ import annotations

import os
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import feedparser
import pytest
from conftest import KEY, ROOT, run_weekly
from test_subscribers_care import _Web

from composer.config import Settings
from composer.deliver.message import MessageTemplate
from composer.issues import IssueFolder

SITE = "dig.watch"


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """Two issues built into one output folder with the shipped settings."""
    out = tmp_path_factory.mktemp("archive") / "out"
    env = {**os.environ, "WEEKLY_OUTPUT__DIR": str(out)}
    assert run_weekly("build", env=env).returncode == 0
    assert run_weekly("build", "--issue", "211", env=env).returncode == 0
    return out


def _proxies() -> dict[str, callable]:
    """The README's nginx and Caddy blocks, read as written: public path -> the path `weekly serve` gets."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    nginx = re.findall(r"location (\S+) \{\s*proxy_pass http://127\.0\.0\.1:8080(\S*);", readme)
    caddy = re.findall(r"reverse_proxy (\S+)\* 127\.0\.0\.1:8080", readme)
    assert nginx and caddy, "the README lost its proxy blocks"

    def through_nginx(path: str) -> str | None:
        # nginx: with a URI in proxy_pass, the part of the path the location matched is replaced by it.
        matched = [(location, uri) for location, uri in nginx if path.startswith(location)]
        if not matched:
            return None
        location, uri = max(matched, key=lambda found: len(found[0]))
        return uri + path[len(location):] if uri else path

    def through_caddy(path: str) -> str | None:
        return path if any(path.startswith(prefix) for prefix in caddy) else None

    return {"nginx": through_nginx, "caddy": through_caddy}


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []
        self.meta: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag in ("a", "link") and values.get("href"):
            self.links.append(values["href"])
        if tag == "meta" and values.get("property"):
            self.meta[values["property"]] = values.get("content") or ""


def _parse(html: str) -> _Links:
    found = _Links()
    found.feed(html)
    return found


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_every_archive_link_answers_through_the_readmes_proxy(archive, proxy):
    """From the public index (brand.web_url's folder), every link to our pages: each issue, the feed, the
    sign-up page, and the links inside them and inside the feed, answers 200 through the proxy block."""
    through = _proxies()[proxy]
    settings = Settings(signing_key=KEY, output={"dir": str(archive)})
    start = f"https://{SITE}/newsletter/"
    assert settings.brand.web_url.startswith(start)
    seen: dict[str, int] = {}
    queue = [start, settings.brand.web_url.replace("{number}", "210")]
    with _Web(settings) as web:
        while queue:
            url = queue.pop()
            parts = urlsplit(url)
            upstream = through(parts.path) if parts.netloc == SITE else None
            if upstream is None or url in seen:
                continue  # the site's own pages (logo, search), not served by weekly
            answer = web.get(upstream, headers={"Host": SITE})
            seen[url] = answer.status_code
            if answer.status_code != 200:
                continue
            if "atom" in answer.headers["content-type"]:
                links = [link.href for entry in feedparser.parse(answer.text).entries for link in entry.links]
            else:
                links = _parse(answer.text).links
            queue += [urljoin(url, link) for link in links if not link.startswith(("mailto:", "#"))]
    assert {url: code for url, code in seen.items() if code != 200} == {}
    assert {f"{start}", f"{start}210/", f"{start}211/", f"{start}feed.xml", f"{start}subscribe"} <= set(seen)


def test_the_feed_is_valid_atom_of_the_past_issues(archive):
    """out/feed.xml and /newsletter/feed.xml: Atom feedparser reads without complaint, newest first, each
    entry linking to its web version."""
    parsed = feedparser.parse((archive / "feed.xml").read_text(encoding="utf-8"))
    assert parsed.bozo == 0 and parsed.version == "atom10"
    assert [entry.link for entry in parsed.entries] == [f"https://{SITE}/newsletter/211/",
                                                        f"https://{SITE}/newsletter/210/"]
    assert all(entry.title.startswith("DW Weekly #21") and entry.updated_parsed for entry in parsed.entries)
    assert parsed.feed.links[0].href == f"https://{SITE}/newsletter/feed.xml"
    settings = Settings(signing_key=KEY, output={"dir": str(archive)})
    with _Web(settings) as web:
        served = web.get("/newsletter/feed.xml", headers={"Host": SITE})
    assert served.status_code == 200 and served.headers["content-type"].startswith("application/atom+xml")
    assert feedparser.parse(served.text).bozo == 0


def test_web_versions_carry_og_tags_and_a_subscribe_link(archive):
    """A shared link shows the issue's card; a reader who landed there can subscribe."""
    found = _parse((archive / "210" / "web.html").read_text(encoding="utf-8"))
    assert found.meta["og:url"] == f"https://{SITE}/newsletter/210/"
    assert found.meta["og:title"].startswith("DW Weekly #210") and found.meta["og:description"]
    assert found.meta["og:image"].startswith("https://") and found.meta["og:type"] == "article"
    assert f"https://{SITE}/newsletter/subscribe" in found.links
    index = _parse((archive / "index.html").read_text(encoding="utf-8"))
    assert f"https://{SITE}/newsletter/subscribe" in index.links and "feed.xml" in index.links


def test_list_mode_footer_links_to_a_page_that_says_how_to_leave(archive):
    """An issue sent to a list address links its footer to the leave page, which names list.manager."""
    settings = Settings(signing_key=KEY, output={"dir": str(archive)},
                        list={"manager": "dw-weekly-request@lists.dig.watch"})
    copy = MessageTemplate(IssueFolder(archive / "210"), settings.mail, 210, one_click=False).personalise(
        "dw-weekly@lists.dig.watch", "", None, "1")
    links = re.findall(rb'href="(https://dig\.watch/newsletter/[a-z]+)"', copy)
    assert links == [b"https://dig.watch/newsletter/leave"]
    with _Web(settings) as web:
        page = web.get("/newsletter/leave", headers={"Host": SITE})
    assert page.status_code == 200 and 'href="mailto:dw-weekly-request@lists.dig.watch"' in page.text


def test_the_sign_up_form_and_the_archive_index_pass_axe(archive, tmp_path):
    """axe-core 4 in headless Chromium over the sign-up page (with its error showing) and the archive index:
    no violation of serious or critical impact."""
    from test_accessibility import AXE, REPORT, _required, _run_in_frame

    _required(AXE.is_file(), f"axe-core is not installed ({AXE}); npm install --prefix .cache/npm axe-core@4")
    settings = Settings(signing_key=KEY, output={"dir": str(archive)})
    with _Web(settings) as web:
        form = web.post("/newsletter/subscribe", data={"email": "nope"}, headers={"Host": SITE}).text
    assert 'role="alert"' in form
    script = AXE.read_text(encoding="utf-8") + """
    window.addEventListener('load', async () => {
      const results = await axe.run(document, {resultTypes: ['violations']});
      """ + REPORT % "results.violations.filter(v => ['serious', 'critical'].includes(v.impact)).map(v => v.id)" + """
    });"""
    for name, html in (("form", form), ("index", (archive / "index.html").read_text(encoding="utf-8"))):
        (tmp_path / name).mkdir()
        assert _run_in_frame(html, script, 600, tmp_path / name) == [], name


@pytest.mark.parametrize("proxy", ["nginx", "caddy"])
def test_a_path_without_its_final_slash_redirects_by_path_never_to_http(archive, proxy):
    """Behind the README's proxy (TLS ends there; no X-Forwarded-Proto) the server sees http: a reader who
    types /newsletter/210 gets a redirect by path, which keeps https, and lands on the page (/newsletter
    itself nginx and Caddy redirect before it reaches weekly)."""
    through = _proxies()[proxy]
    settings = Settings(signing_key=KEY, output={"dir": str(archive)})
    with _Web(settings) as web:
        for public in ("/newsletter/210", "/newsletter/211"):
            answer = web.get(through(public), headers={"Host": SITE}, follow_redirects=False)
            assert answer.status_code in (301, 307, 308), (public, answer.status_code)
            location = answer.headers["location"]
            assert not location.startswith("http:"), (public, location)
            assert urljoin(f"https://{SITE}{public}", location) == f"https://{SITE}{public}/"
            landed = web.get(through(urlsplit(urljoin(f"https://{SITE}{public}", location)).path),
                             headers={"Host": SITE})
            assert landed.status_code == 200, (public, location)
