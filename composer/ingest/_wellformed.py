"""Whether a feed document is whole: a cut-off or damaged answer still gives feedparser the entries before
the fault (its loose parser reads on), so its entries cannot tell a whole feed from the start of one.

Real feeds carry quirks that leave the document whole, and every feed reader takes them in its stride; they
are not counted as faults, so a source that has them is not refused every week:
- a wrong declared encoding: the text is read in the encoding feedparser settled on (uol-noticias);
- blank lines before the XML declaration (aws-blog and techcrunch-2011 in the corpus);
- an entity HTML defines but XML does not (`&nbsp;`), and a bare `&` ("AT&T");
- a namespace prefix used without its declaration (`media:`).
What is left is a syntax error: the end of the document missing, a tag not closed, junk after the root
element, a character where markup should be.
"""

from __future__ import annotations

import re
from xml.parsers import expat

MALFORMED = "malformed"  # Problem.code: the document is cut off or damaged

# A `&` that starts no reference at all; an undefined named one (&nbsp;) is left to the foreign DTD below.
_BARE_AMPERSAND = re.compile(r"&(?!#[0-9]+;|#x[0-9a-fA-F]+;|[A-Za-z_][\w.-]*;)")


def malformed(data: bytes, encoding: str | None) -> str | None:
    """Where and why `data` (in `encoding`) is not well-formed XML, or None when it is whole."""
    try:
        text = data.decode(encoding or "utf-8", errors="replace")
    except LookupError:
        text = data.decode("utf-8", errors="replace")
    document = text.lstrip("\ufeff \t\r\n")
    parser = expat.ParserCreate()  # no namespace processing: an undeclared prefix is only a name
    parser.UseForeignDTD(True)  # an entity no DTD here defines is then skipped, not a fault
    try:
        parser.Parse(_BARE_AMPERSAND.sub("&amp;", document), True)
    except expat.ExpatError as err:
        line = err.lineno + text[:len(text) - len(document)].count("\n")
        return f"{expat.ErrorString(err.code)} at line {line}, column {err.offset + 1}"
    return None
