"""The draft file (issue.yaml): what `compose` writes, an editor may edit, `render` and `send` read.

Writing is deterministic (keys in the Draft's order, no timestamps), so composing the same inputs
twice gives byte-identical files. Reading refuses a missing or unknown key by its dotted name. The file
carries its format's `version`: one from a newer weekly is refused by name, one without it is version 1.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from pydantic import ValidationError

from composer.atomic import write_atomic
from composer.errors import WeeklyError, invalid_key
from composer.models import DRAFT_VERSION, Draft


class DraftError(WeeklyError):
    """The draft file cannot be read or does not fit the Draft model."""


# libyaml writes a draft five times faster than PyYAML's own emitter (1.2 s of a 10,000-item week), and
# the same bytes while no text holds a line break or a character one of them escapes and the other may
# not (controls, U+2028/9, a soft hyphen, a BOM, astral characters such as emoji): such a draft is written
# by PyYAML's own emitter, as every draft was before (tests/test_draft_file.py compares the two).
_FAST_DUMPER = getattr(yaml, "CSafeDumper", None)
_NOT_PLAIN = re.compile("[^\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd]|[\u2028\u2029\u00ad]")


def write_draft(draft: Draft, path: Path) -> Path:
    """Write `draft` as YAML to `path`."""
    data = draft.model_dump(mode="json")
    dumper = _FAST_DUMPER if _FAST_DUMPER and _plain(data) else yaml.SafeDumper
    text = yaml.dump(data, Dumper=dumper, sort_keys=False, allow_unicode=True, width=100)
    try:
        return write_atomic(path, text)
    except OSError as err:
        raise DraftError(f"{path}: cannot write the draft: {err.strerror or err}") from err


def _plain(data: object) -> bool:
    """Whether `data` holds nothing libyaml and PyYAML write differently: no such character in any text,
    and every key short, ASCII and not empty (PyYAML writes an empty key, and one from 128 characters, as
    "? key"; libyaml from 128 bytes on)."""
    if isinstance(data, str):
        return _NOT_PLAIN.search(data) is None
    if isinstance(data, dict):
        return all(isinstance(key, str) and 0 < len(key) <= 64 and key.isascii() and _plain(key) and _plain(value)
                   for key, value in data.items())
    if isinstance(data, list):
        return all(map(_plain, data))
    return True


class _DatesAsText(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """YAML's safe loader leaving dates as text: the draft's model reads them, so an editor's impossible date
    ("2025-13-45") is an error naming its key, not a failure inside the YAML reader. libyaml's parser when
    PyYAML has it: a 10,000-item week's 2 MB draft, read again by the next compose, in 0.4 s, not 2.2 s."""


_DatesAsText.yaml_implicit_resolvers = {
    first: [(tag, pattern) for tag, pattern in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def read_draft(path: Path) -> Draft:
    """The draft in `path`, validated."""
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_DatesAsText)  # a SafeLoader: no Python objects
    except FileNotFoundError as err:
        raise DraftError(f"{path}: no such draft file (write one with `weekly compose -o {path}`)") from err
    except (OSError, UnicodeDecodeError) as err:
        raise DraftError(f"{path}: cannot read the draft: {err}") from err
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        problem = str(getattr(err, "problem", None) or err)
        if "nesting depth" in problem:  # libyaml's own bound on nesting, as deep as RecursionError below
            raise DraftError(f"{where}: nested too deeply to be a draft") from err
        raise DraftError(f"{where}: not valid YAML: {problem}") from err
    except RecursionError as err:  # a hand edit of thousands of nested lists or mappings
        raise DraftError(f"{path}: nested too deeply to be a draft") from err
    except ValueError as err:  # an integer of thousands of digits, which Python will not convert
        raise DraftError(f"{path}: a number too long to be read ({str(err).split(':')[0]})") from err
    if not isinstance(data, dict):
        raise DraftError(f"{path}: a draft is a mapping of keys (number, headline, …), not {type(data).__name__}")
    version = data.get("version", 1)
    if isinstance(version, int) and not isinstance(version, bool) and version > DRAFT_VERSION:
        raise DraftError(f"{path}: a draft of version {version}, written by a newer weekly; this one reads version "
                         f"{DRAFT_VERSION}: upgrade weekly")
    try:
        return Draft.model_validate(data)
    except ValidationError as err:
        key, reason = invalid_key(err)
        if reason == "missing":
            raise DraftError(f"{path}: missing key '{key}'") from err
        if reason.startswith("unknown key"):
            raise DraftError(f"{path}: unknown key '{key}' (misspelt?)") from err
        raise DraftError(f"{path}: key '{key}': {reason}") from err
