"""The gate before sending: is a built issue fit for email clients and for its readers?

Reads the issue's email, web version, text part, MJML source and, when present, its draft, and returns
one Problem per fault, each naming the file. Nothing here writes or sends. `weekly check` prints them;
`weekly send` and `weekly run --send` refuse an issue with any error (`--force` overrides, and says so).
Warnings (an editorial that still tells a deleted story) are printed and do not block.
The sending identity is checked too, from the settings: a sender, reply address or unsubscribe mailbox at a
reserved domain (example.org, .test, .invalid, localhost …) would never be delivered or trusted, and a
DKIM key that cannot sign stops the send before it starts.
"""

from __future__ import annotations

import re
from email.utils import parseaddr
from html import escape
from html.parser import HTMLParser

from composer.config import DkimSettings, Settings
from composer.deliver.message import fit_line_length
from composer.errors import WeeklyError
from composer.issues import DRAFT, EMAIL, MJML, TEXT, WEB, IssueFolder
from composer.models import Contract, Draft, Problem

HTML_BUDGET = 100 * 1024  # Gmail clips messages over about 102 KB
_SAFE_SCHEMES = ("https://", "http://", "mailto:", "tel:")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#|%\}|\}\}")
_WIDTH_RULE = re.compile(r"(?<![-\w])width:[^;}]*")
_DESKTOP_QUERY = re.compile(r"@media[^{]*min-width:\s*480px[^{]*\{(.*?\})\s*\}", re.DOTALL)
# Names that never reach a real mailbox (RFC 2606, RFC 6761, RFC 6762, RFC 8375): mail from them is refused
# or junked, and a reply or unsubscription sent to them is lost.
_RESERVED = ("example.com", "example.net", "example.org", "example", "invalid", "test", "localhost", "local",
             "home.arpa")


class Gate(Contract):
    """What the checks need from the settings (pipeline.gate builds it; the defaults live in config)."""

    unsubscribe_url: str
    min_radar: int
    sender: str  # smtp.sender
    unsubscribe_mailto: str  # list.unsubscribe_mailto
    reply_to: str | None = None  # smtp.reply_to
    bounce_address: str | None = None  # bounces.address: where bounces and auto-replies go
    dkim: DkimSettings = DkimSettings()
    fallback_url: str | None = None  # where entries without a URL link (brand.fallback_url)

    @classmethod
    def of(cls, settings: Settings) -> Gate:
        return cls(unsubscribe_url=settings.brand.unsubscribe_url, min_radar=settings.issue.min_radar,
                   sender=settings.smtp.sender, unsubscribe_mailto=settings.list.unsubscribe_mailto,
                   reply_to=settings.smtp.reply_to, bounce_address=settings.bounces.address, dkim=settings.dkim,
                   fallback_url=settings.brand.fallback_url)


def check_issue(issue: IssueFolder, gate: Gate, with_draft: bool = True) -> list[Problem]:
    """Every problem found in the built issue and the identity it would be sent with; an empty list means
    it may be sent. `with_draft` False leaves the draft out: it is not what the files show (an issue edited
    after it began to go out, whose files are sent as they are)."""
    html, text, mjml = issue.html, issue.text, issue.mjml
    email = _scan(html)
    found = [(EMAIL, problem) for problem in _check_html(html, email)]
    found += [(WEB, problem) for problem in _scan(issue.web_html).link_problems]
    found += [(name, f"leftover template syntax {match!r}")
              for name, content in ((EMAIL, html), (TEXT, text))
              for match in sorted(set(_TEMPLATE_SYNTAX.findall(content)))]
    found += [(MJML, problem) for problem in _check_mjml(mjml)]
    found += [(name, problem) for name, problem in _check_unsubscribe(html, text, gate.unsubscribe_url)]
    with_draft = with_draft and issue.has(DRAFT)
    if with_draft:
        draft = issue.draft
        found += [(TEXT, problem) for problem in _missing_entries(" ".join(text.split()), draft)]
        found += [(EMAIL, problem) for problem in _missing_entries(email.text(), draft, links=False)]
    problems = [Problem(level="error", path=str(issue.path / name), message=message) for name, message in found]
    if with_draft:
        problems += [Problem(level="error", path=str(issue.draft_path), message=message)
                     for message in _untitled(issue.draft)]
    if with_draft and len(issue.draft.sections.radar) < gate.min_radar:
        problems.append(Problem(level="error", path=str(issue.draft_path), code="thin",
                                message=f"a thin issue: {len(issue.draft.sections.radar)} Radar entries, fewer than "
                                        f"issue.min_radar ({gate.min_radar})"))
    problems += _check_identity(gate)
    if with_draft:
        problems += [Problem(level="warning", path=str(issue.draft_path), message=message)
                     for message in (*_editorial_drift(issue.draft), *_unlinked(issue.draft, gate.fallback_url))]
    return problems


def _untitled(draft: Draft) -> list[str]:
    """Entries whose title is empty (a hand edit): a link with no words, a blank line in "In this issue"."""
    return [f"{section.replace('_', ' ')} entry {index} has no title: give it one or delete the entry"
            for section in ("radar", "reading_corner", "events")
            for index, entry in enumerate(getattr(draft.sections, section), start=1) if not entry.title.strip()]


def _unlinked(draft: Draft, fallback_url: str | None) -> list[str]:
    """Entries with no URL of their own: readers reach a search at best."""
    entries = draft.sections.entries()
    missing = [entry.title for entry in entries if not entry.url]
    if not missing:
        return []
    where = f"they link to {fallback_url} (brand.fallback_url)" if fallback_url else "their titles link nowhere"
    return [f"{len(missing)} of {len(entries)} entries have no URL of their own ({missing[0][:40]!r}, …); {where}"]


def _editorial_drift(draft: Draft) -> list[str]:
    """Stories the editorial tells that the issue no longer has (an editor deleted the entry)."""
    present = {entry.item_id for entry in draft.sections.entries()}
    return [f"the editorial tells {title[:60]!r}, which is no longer in the issue; edit the editorial"
            for item_id, title in draft.editorial_items.items() if item_id not in present]


class _Scan(HTMLParser):
    """One pass over a page: its lang, what is wrong with its tables, images and links, and its text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.problems: list[str] = []
        self.link_problems: list[str] = []
        self.words: list[str] = []
        self.ids: set[str] = set()
        self.fragments: list[str] = []  # href="#id": a link within the page ("In this issue")
        self._hidden = 0  # inside <style>, <script> or <title>: not text a reader sees in the body
        self._link: list[str | bool] | None = None  # inside <a href>: [its href, whether it has a name yet]

    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words.append(data)
            if self._link is not None and data.strip():
                self._link[1] = True

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._hidden = max(0, self._hidden - 1)
        elif tag == "a" and self._link is not None:
            href, named = self._link
            if not named:  # an empty field of the draft (a title) makes one: a screen reader reads out the URL
                self.problems.append(f"a link to {str(href)[:80]!r} has no words, no alt text and no aria-label")
            self._link = None

    def handle_comment(self, data: str) -> None:
        # Outlook reads the markup inside <!--[if mso | IE]> … <![endif]-->: scan it like the rest.
        if data.startswith("[if") and "]>" in data:
            inner = _Scan()
            inner.feed(data.split("]>", 1)[1].rsplit("<![endif]", 1)[0])
            self.problems += inner.problems
            self.link_problems += inner.link_problems

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag in ("style", "script", "title"):
            self._hidden += 1
        if tag == "html":
            self.lang = values.get("lang") or None
        elif tag == "table" and values.get("role") != "presentation":
            self.problems.append('a layout table without role="presentation"')
        elif tag == "img" and not (values.get("alt") or "").strip():
            self.problems.append(f"image {values.get('src')!r} has no alt text")
        elif tag == "img" and self._link is not None:
            self._link[1] = True  # the image's alt text names the link
        elif tag == "a" and values.get("href") and values.get("aria-hidden") != "true":
            self._link = [values.get("href") or "", bool((values.get("aria-label") or "").strip())]
        if values.get("id"):
            self.ids.add(values["id"] or "")
        for name in ("href", "src"):
            link = (values.get(name) or "").strip()
            if name == "href" and link.startswith("#") and len(link) > 1:
                self.fragments.append(link[1:])
            elif name in values and not link.lower().startswith(_SAFE_SCHEMES):
                scheme = link.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][\w+.-]*:", link) else ""
                reason = f"a {scheme}: link, which no mail client should follow" if scheme else "not an absolute link"
                self.link_problems.append(f"{tag} {name}={link[:80]!r} is {reason}")


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
    scan.link_problems += [f"a link to #{fragment}, which is nowhere in the page" for fragment in
                           dict.fromkeys(scan.fragments) if fragment not in scan.ids]
    return scan


def _check_html(html: str, scan: _Scan) -> list[str]:
    problems = []
    size = len(html.encode())
    if size > HTML_BUDGET:
        problems.append(f"{size / 1024:.0f} KB is over the {HTML_BUDGET // 1024} KB budget (Gmail clips at about 102 KB)")
    if not scan.lang:
        problems.append("the <html> element has no lang attribute")
    problems += list(dict.fromkeys(scan.problems + scan.link_problems))
    try:
        fit_line_length(html)
    except WeeklyError as err:
        problems.append(f"{err} (SMTP allows 998 bytes a line)")
    if "<mj-" in html:
        problems.append("MJML tags left in the HTML: the MJML did not compile cleanly")
    desktop = _DESKTOP_QUERY.search(html)
    if not desktop:
        problems.append("the min-width:480px media query is missing: columns will not sit side by side")
    elif any("!important" not in rule for rule in _WIDTH_RULE.findall(desktop[1])):
        problems.append("the min-width:480px media query lost its !important: desktop columns will collapse")
    return problems


def _check_mjml(mjml: str) -> list[str]:
    from mjml import mjml2html

    try:
        mjml2html(mjml, disable_comments=True, fonts={})
    except Exception as err:  # noqa: BLE001 (MRML raises its own error types, all meaning "does not compile")
        return [f"does not compile: {err}"]
    return []


def _missing_entries(flat_text: str, draft: Draft, links: bool = True) -> list[str]:
    """Each entry's title, teaser and (with `links`) link the text (whitespace folded) lacks: part of the
    issue lost on the way from the draft (a template or the HTML toolchain cutting it short)."""
    missing = []
    for entry in draft.sections.entries():
        for part in (entry.title, entry.teaser, entry.url if links else None):
            if part and " ".join(part.split()) not in flat_text:
                missing.append(f"lacks {part[:60]!r} of the entry {entry.title[:40]!r}")
    return missing


def _check_unsubscribe(html: str, text: str, url: str) -> list[tuple[str, str]]:
    """Gmail and Yahoo want a visible unsubscribe link in the body; the send personalises this one."""
    problems = []
    if f'href="{escape(url)}"' not in html:
        problems.append((EMAIL, f"no visible unsubscribe link to {url} (brand.unsubscribe_url); render it again"))
    if url not in text:
        problems.append((TEXT, f"no unsubscribe link to {url} (brand.unsubscribe_url); render it again"))
    return problems


def _check_identity(gate: Gate) -> list[Problem]:
    """The addresses the issue goes out with, and its DKIM keys: what mailbox providers judge it by."""
    found = [("smtp.sender", gate.sender), ("list.unsubscribe_mailto", gate.unsubscribe_mailto),
             *([("smtp.reply_to", gate.reply_to)] if gate.reply_to else []),
             *([("bounces.address", gate.bounce_address)] if gate.bounce_address else [])]
    problems = [Problem(level="error", path=key, message=message)
                for key, value in found for message in _address_problems(key, value)]
    sender_domain = parseaddr(gate.sender)[1].rpartition("@")[2].lower()
    if not gate.dkim.keys:
        problems.append(Problem(level="warning", path="dkim.keys", message=(
            "copies go out without a DKIM signature: Gmail and Yahoo require one from bulk senders and honour "
            "one-click unsubscribe only when it covers List-Unsubscribe (unless your relay signs for "
            f"{sender_domain}); see README, Before the first send")))
        return problems
    from composer.deliver.dkim import Signer

    try:
        Signer(gate.dkim)
    except WeeklyError as err:
        problems.append(Problem(level="error", path="dkim.keys", message=str(err)))
    domain = (gate.dkim.domain or "").lower()
    if sender_domain and not _aligned(domain, sender_domain):
        problems.append(Problem(level="warning", path="dkim.domain", message=(
            f"{domain} does not align with the sender's domain {sender_domain}: DMARC passes only through SPF; "
            "sign with the sender's domain or its parent")))
    return problems


def _address_problems(key: str, value: str) -> list[str]:
    address = parseaddr(value)[1]
    domain = address.rpartition("@")[2].lower().rstrip(".")
    env = "WEEKLY_" + key.replace(".", "__").upper()
    if "@" not in address or not domain:
        return [f"{value!r} is not an address with a domain; set {env}"]
    reserved = next((name for name in _RESERVED if domain == name or domain.endswith("." + name)), None)
    if reserved:
        return [f"{address} is at {reserved}, a reserved domain no mailbox provider delivers or answers: set "
                f"your own ({env}), with SPF, DKIM and DMARC in place (README: Before the first send)"]
    if "." not in domain or domain.startswith("["):
        return [f"{address} is not at a public domain name, so SPF, DKIM and DMARC cannot vouch for it; set {env}"]
    return []


def _aligned(dkim_domain: str, sender_domain: str) -> bool:
    """DMARC's relaxed alignment, without the public suffix list: one domain is the other or its parent."""
    return (dkim_domain == sender_domain or sender_domain.endswith("." + dkim_domain)
            or dkim_domain.endswith("." + sender_domain))
