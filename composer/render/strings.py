"""The strings catalogue: every fixed word of the email and the editorial, in the edition's language.

templates/strings/LANGUAGE.toml (issue.language) or a file of your own (issue.strings). Every key is
required, so a catalogue for another language cannot leave an English word behind unnoticed; a missing
or misspelt key is refused with the file and the key.
"""

from __future__ import annotations

import tomllib
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from composer.config import IssueSettings, bundled
from composer.errors import ConfigError, invalid_key


class _Table(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class EmailStrings(_Table):
    in_this_issue: str
    radar: str
    radar_subtitle: str = Field(description="{date_range}")
    reading_corner: str
    events: str
    default_topic: str
    view_online: str
    view_in_browser: str
    unsubscribe: str
    subscribe: str
    footer: str = Field(description="{name}, {publisher}")
    archive: str = Field(description="{name}")


class TextStrings(_Table):
    view_in_browser: str
    unsubscribe: str


class WebStrings(_Table):
    """The pages of `weekly serve` (sign-up, confirmation, leaving a list) and the mails of a sign-up."""

    subscribe_title: str = Field(description="{name}")
    subscribe_intro: str = Field(description="{name}, {publisher}")
    email_label: str
    name_label: str
    honeypot_label: str
    subscribe_button: str
    invalid_address: str
    name_too_long: str = Field(description="{count}, {limit}")
    too_many: str
    check_inbox_title: str
    check_inbox: str = Field(description="{address}, {name}, {hours}")
    confirm_title: str
    confirm_question: str = Field(description="{name}")
    confirm_button: str
    confirmed_title: str
    confirmed: str = Field(description="{name}")
    link_not_valid_title: str
    link_not_valid: str
    leave_title: str = Field(description="{name}")
    leave_list: str = Field(description="{name}")
    leave_no_manager: str = Field(description="{name}")
    archive: str
    not_found: str
    confirm_subject: str = Field(description="{name}")
    confirm_mail: str = Field(description="{name}, {hours}")
    confirm_mail_ignore: str
    welcome_subject: str = Field(description="{name}")
    welcome_mail: str = Field(description="{name}")
    welcome_unsubscribe: str


class ThemeKinds(_Table):
    """One phrase per kind of week theme (summarise.editorial.week_theme); {theme} names it."""

    basket: str
    law: str
    actor: str
    place: str
    technology: str
    varied: str


class EditorialStrings(_Table):
    """The editorial's and the issue headline's fixed phrases, for the summariser."""

    greeting: str
    quiet_week: str
    quiet_week_one_story: str
    quiet_headline: str
    list_and: str = Field(description="The word before the issue headline's last topic.")
    staying_with: str = Field(description="{actor}")
    staying_in: str = Field(description="{place}")
    across_the_atlantic: str
    speaking_of: str = Field(description="{topic}")
    the_blog: str = Field(description="{story}")
    pointer: str
    pointer_radar: str
    signoff: str
    openings: ThemeKinds
    headlines: ThemeKinds
    openers: dict[str, str]


class DateStrings(_Table):
    months: tuple[str, ...] = Field(min_length=12, max_length=12)
    same_month: str
    same_year: str
    two_years: str
    day: str
    online: str


class Strings(_Table):
    language: str = Field(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")
    email: EmailStrings
    text: TextStrings
    web: WebStrings
    editorial: EditorialStrings
    dates: DateStrings

    def date_range(self, start: date, end: date) -> str:
        """The issue's week in this language: "18 – 25 April 2025", "25 April – 2 May 2025"."""
        months = self.dates.months
        pattern = (self.dates.same_month if (start.year, start.month) == (end.year, end.month)
                   else self.dates.same_year if start.year == end.year else self.dates.two_years)
        return pattern.format(start_day=start.day, start_month=months[start.month - 1], start_year=start.year,
                              end_day=end.day, end_month=months[end.month - 1], end_year=end.year)

    def day(self, day: date) -> str:
        """One day in this language: "13 May 2025"."""
        return self.dates.day.format(day=day.day, month=self.dates.months[day.month - 1], year=day.year)


STRINGS = bundled("templates") / "strings"


def strings_for(issue: IssueSettings) -> Strings:
    """The catalogue of the edition: issue.strings if set, else the bundled one for issue.language."""
    strings = load_strings(issue.strings or STRINGS / f"{issue.language}.toml")
    if strings.language != issue.language:
        raise ConfigError(f"{issue.strings}: its language is {strings.language!r} but issue.language is "
                          f"{issue.language!r}; set both alike")
    return strings


def editorial_words(issue: IssueSettings, strings: Strings) -> EditorialStrings:
    """The edition's editorial phrases: the catalogue's, with issue.greeting, issue.pointer and issue.signoff
    where set (a deployment's own wording wins, as brand.footer_text does). A setting that is the English
    catalogue's own phrase in an edition of another language is a leftover of an older config, which had
    to set them: refused by name rather than left in English in that edition."""
    english = load_strings()
    overrides = {key: getattr(issue, key) for key in ("greeting", "pointer", "signoff") if getattr(issue, key)}
    for key, value in overrides.items():
        if strings.language != english.language and value == getattr(english.editorial, key):
            raise ConfigError(f"issue.{key}: {value!r} is English, but issue.language is {issue.language!r}: "
                              f"remove issue.{key} (the catalogue's is used) or write it in that language")
    return strings.editorial.model_copy(update=overrides)


@lru_cache(maxsize=8)
def load_strings(path: Path = STRINGS / "en.toml") -> Strings:
    """The catalogue in `path` (read once per process)."""
    if not path.is_file():
        known = ", ".join(sorted(found.stem for found in STRINGS.glob("*.toml")))
        raise ConfigError(f"{path}: no strings catalogue there (bundled: {known}); copy templates/strings/en.toml, "
                          "translate it and set issue.strings to it")
    try:
        return Strings.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not a readable TOML file: {err}") from err
    except ValidationError as err:
        key, reason = invalid_key(err)
        raise ConfigError(f"{path}: {key}: {reason}") from err
