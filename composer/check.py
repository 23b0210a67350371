"""The gate before sending: is a built issue fit for email clients and for its readers?

Reads the issue's email, web version, text part, MJML source and, when present, its draft, and returns
one Problem per fault, each naming the file. Nothing here writes or sends. `weekly check` prints them;
`weekly send` and `weekly run --send` refuse an issue with any error (`--force` overrides, and says so).
Warnings (an editorial that still tells a deleted story) are printed and do not block.
"""

from __future__ import annotations

import re
from html import escape
from html.parser import HTMLParser

from composer.deliver.message import fit_line_length
from composer.errors import WeeklyError
from composer.issues import DRAFT, EMAIL, MJML, TEXT, WEB, IssueFolder
from composer.models import Contract, Draft, Problem

HTML_BUDGET = 100 * 1024  # Gmail clips messages over about 102 KB
_SAFE_SCHEMES = ("https://", "http://", "mailto:", "tel:")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#|%\}|\}\}")
_WIDTH_RULE = re.compile(r"(?<![-\w])width:[^;}]*")
_DESKTOP_QUERY = re.compile(r"@media[^{]*min-width:\s*480px[^{]*\{(.*?\})\s*\}", re.DOTALL)


class Gate(Contract):
    """What the checks need from the settings (pipeline.gate builds it; the defaults live in config)."""

    unsubscribe_url: str
    min_radar: int
    fallback_url: str | None = None  # where entries without a URL link (brand.fallback_url)


def check_issue(issue: IssueFolder, gate: Gate) -> list[Problem]:
    """Every problem found in the built issue; an empty list means it may be sent."""
    html, text, mjml = issue.html, issue.text, issue.mjml
    email = _scan(html)
    found = [(EMAIL, problem) for problem in _check_html(html, email)]
    found += [(WEB, problem) for problem in _scan(issue.web_html).link_problems]
    found += [(name, f"leftover template syntax {match!r}")
              for name, content in ((EMAIL, html), (TEXT, text))
              for match in sorted(set(_TEMPLATE_SYNTAX.findall(content)))]
    found += [(MJML, problem) for problem in _check_mjml(mjml)]
    found += [(name, problem) for name, problem in _check_unsubscribe(html, text, gate.unsubscribe_url)]
    if issue.has(DRAFT):
        draft = issue.draft
        found += [(TEXT, problem) for problem in _missing_entries(" ".join(text.split()), draft)]
        found += [(EMAIL, problem) for problem in _missing_entries(email.text(), draft, links=False)]
    problems = [Problem(level="error", path=str(issue.path / name), message=message) for name, message in found]
    if issue.has(DRAFT) and len(issue.draft.sections.radar) < gate.min_radar:
        problems.append(Problem(level="error", path=str(issue.draft_path), code="thin",
                                message=f"a thin issue: {len(issue.draft.sections.radar)} Radar entries, fewer than "
                                        f"issue.min_radar ({gate.min_radar})"))
    if issue.has(DRAFT):
        problems += [Problem(level="warning", path=str(issue.draft_path), message=message)
                     for message in (*_editorial_drift(issue.draft), *_unlinked(issue.draft, gate.fallback_url))]
    return problems


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
        self._hidden = 0  # inside <style>, <script> or <title>: not text a reader sees in the body

    def text(self) -> str:
        return " ".join(" ".join(self.words).split())

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("style", "script", "title"):
            self._hidden = max(0, self._hidden - 1)

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
        for name in ("href", "src"):
            link = (values.get(name) or "").strip()
            if name in values and not link.lower().startswith(_SAFE_SCHEMES):
                scheme = link.split(":", 1)[0].lower() if re.match(r"^[A-Za-z][\w+.-]*:", link) else ""
                reason = f"a {scheme}: link, which no mail client should follow" if scheme else "not an absolute link"
                self.link_problems.append(f"{tag} {name}={link[:80]!r} is {reason}")


def _scan(html: str) -> _Scan:
    scan = _Scan()
    scan.feed(html)
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
