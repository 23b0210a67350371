"""The gate before sending: is a built issue fit for email clients?

Reads the issue's email, text part, MJML source and, when present, its draft, and returns one Problem
per fault, each naming the file. Nothing here writes or sends.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from composer.issues import DRAFT, EMAIL, MJML, TEXT, IssueFolder
from composer.models import Draft, Problem

HTML_BUDGET = 100 * 1024  # Gmail clips messages over about 102 KB
_ABSOLUTE = ("https://", "http://", "mailto:", "tel:")
_TEMPLATE_SYNTAX = re.compile(r"\{\{|\{%|\{#|%\}|\}\}")
_WIDTH_RULE = re.compile(r"(?<![-\w])width:[^;}]*")
_DESKTOP_QUERY = re.compile(r"@media[^{]*min-width:\s*480px[^{]*\{(.*?\})\s*\}", re.DOTALL)


def check_issue(issue: IssueFolder) -> list[Problem]:
    """Every problem found in the built issue; an empty list means it may be sent."""
    html, text, mjml = issue.html, issue.text, issue.mjml
    found = [(EMAIL, problem) for problem in _check_html(html)]
    found += [(name, f"leftover template syntax {match!r}")
              for name, content in ((EMAIL, html), (TEXT, text))
              for match in sorted(set(_TEMPLATE_SYNTAX.findall(content)))]
    found += [(MJML, problem) for problem in _check_mjml(mjml)]
    if issue.has(DRAFT):
        found += [(TEXT, problem) for problem in _check_text(text, issue.draft)]
    return [Problem(level="error", path=str(issue.path / name), message=message) for name, message in found]


class _Scan(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lang: str | None = None
        self.problems: list[str] = []

    def handle_comment(self, data: str) -> None:
        # Outlook reads the markup inside <!--[if mso | IE]> … <![endif]-->: scan it like the rest.
        if data.startswith("[if") and "]>" in data:
            inner = _Scan()
            inner.feed(data.split("]>", 1)[1].rsplit("<![endif]", 1)[0])
            self.problems += inner.problems

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang") or None
        elif tag == "table" and values.get("role") != "presentation":
            self.problems.append('a layout table without role="presentation"')
        elif tag == "img" and not (values.get("alt") or "").strip():
            self.problems.append(f"image {values.get('src')!r} has no alt text")
        for name in ("href", "src"):
            link = values.get(name)
            if link is not None and not link.startswith(_ABSOLUTE):
                self.problems.append(f"{tag} {name}={link!r} is not an absolute link")


def _check_html(html: str) -> list[str]:
    problems = []
    size = len(html.encode())
    if size > HTML_BUDGET:
        problems.append(f"{size / 1024:.0f} KB is over the {HTML_BUDGET // 1024} KB budget (Gmail clips at about 102 KB)")
    scan = _Scan()
    scan.feed(html)
    if not scan.lang:
        problems.append("the <html> element has no lang attribute")
    problems += list(dict.fromkeys(scan.problems))
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


def _check_text(text: str, draft: Draft) -> list[str]:
    """The text part must carry every entry: its title, its teaser and its link."""
    flat = " ".join(text.split())
    missing = []
    for entry in (*draft.sections.radar, *draft.sections.reading_corner, *draft.sections.events):
        for part in (entry.title, entry.teaser, entry.url):
            if part and " ".join(part.split()) not in flat:
                missing.append(f"lacks {part[:60]!r} of the entry {entry.title[:40]!r}")
    return missing
