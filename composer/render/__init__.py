"""Render: Draft -> MJML (Jinja2, autoescaped) -> HTML (mjml-python)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from composer.config import BrandSettings
from composer.errors import RenderError
from composer.models import Draft, RenderedIssue

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def render(draft: Draft, brand: BrandSettings) -> RenderedIssue:
    """The email for `draft`; its HTML links no fonts or icons we did not choose."""
    import jinja2
    from mjml import mjml2html

    sections = [
        ("RADAR", draft.sections.radar),
        ("READING CORNER", draft.sections.reading_corner),
        ("UPCOMING EVENTS", draft.sections.events),
    ]
    try:
        mjml = _environment().get_template("issue.mjml.j2").render(draft=draft, brand=brand, sections=sections)
    except jinja2.TemplateError as err:
        raise RenderError(f"{TEMPLATES / 'issue.mjml.j2'}: {err}") from err
    try:
        html = mjml2html(mjml, disable_comments=True, fonts={}, social_icon_origin=brand.site_url)
    except Exception as err:  # MRML raises its own error types; all mean the same to the user
        raise RenderError(f"MJML did not compile: {err}") from err
    return RenderedIssue(subject=f"{brand.name} #{draft.number} – {draft.headline}", mjml=mjml, html=html)


@lru_cache(maxsize=1)
def _environment():
    import jinja2

    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
