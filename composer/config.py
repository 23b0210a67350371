"""Settings: built-in defaults < config/weekly.toml < secret files < .env < WEEKLY_* variables.

Nested keys use `__` in the environment: `WEEKLY_SMTP__HOST=mail.example.org`.
Secrets (the SMTP password, the signing key) are refused in the TOML file, which is
meant to be committed; they come from the environment, .env or a secret file
(`--secrets-dir DIR` holding files `smtp__password`, `llm__api_key`, `signing_key`), and print masked.
"""

from __future__ import annotations

import os
import re
import tomllib
from contextvars import ContextVar
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, InitSettingsSource, SettingsConfigDict
from pydantic_settings.exceptions import SettingsError

from composer.errors import ConfigError, invalid_key

DEFAULT_CONFIG = Path("config/weekly.toml")
MIN_KEY_BYTES = 32  # an unsubscribe token's HMAC key: shorter ones can be guessed
SECRET_KEYS = (("smtp", "password"), ("llm", "api_key"), ("imap", "password"), ("store", "password"),
               ("signing_key",))


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# Brand colours go into CSS (style attributes, <style> blocks) and links into href/src attributes and
# headers: a value is taken only in the one form that cannot carry anything else.
_HEX_COLOUR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_WEB_URL = re.compile(r"""https?://[^\s\x00-\x1f\x7f"<>\\`/?#]+(?:[/?#][^\s\x00-\x1f\x7f"<>\\`]*)?""")


def _colour(value: str) -> str:
    if not _HEX_COLOUR.fullmatch(value):
        raise ValueError(f"{value[:60]!r} is not a CSS hex colour: write #rgb or #rrggbb, like #0b3c5d")
    return value


def _web_url(value: str | None) -> str | None:
    if value and not _WEB_URL.fullmatch(value):
        raise ValueError(f"{value[:80]!r} is not an http:// or https:// URL (with no spaces, quotes or <>)")
    return value


class BrandSettings(Section):
    name: str = "DW Weekly"
    publisher: str = "Digital Watch Observatory"
    site_url: str = "https://dig.watch"
    logo_url: str = "https://dig.watch/wp-content/uploads/2022/06/DW-logo.png"
    primary_color: str = "#0b3c5d"
    accent_color: str = "#e8542f"
    postal_address: str = "DiploFoundation, 7bis Avenue de la Paix, 1202 Geneva, Switzerland"
    web_url: str = Field("https://dig.watch/newsletter/{number}/", description="The issue online; {number} is replaced.")
    unsubscribe_url: str = "https://dig.watch/newsletter/unsubscribe"
    subscribe_url: str = Field("https://dig.watch/newsletter/subscribe", description="The sign-up page `weekly "
                               "serve` answers at this URL's path; web versions link to it.")
    fallback_url: str | None = Field("https://dig.watch/?s={query}", description="Where an entry without a URL "
                                     "links: {query} is its title, URL-encoded; empty for no link.")
    footer_text: str | None = Field(None, description="Why the reader gets the email; unset, the strings "
                                    "catalogue's `footer` in the issue's language.")

    _colours = field_validator("primary_color", "accent_color")(_colour)
    _links = field_validator("site_url", "logo_url", "web_url", "unsubscribe_url", "subscribe_url",
                             "fallback_url")(_web_url)


class IssueSettings(Section):
    # Unset, the strings catalogue of `language` writes them (templates/strings/LANGUAGE.toml [editorial]).
    greeting: str | None = Field(None, description="Your own greeting instead of the catalogue's ('Dear readers,').")
    pointer: str | None = Field(None, description="Your own closing pointer to the sections instead of the "
                                "catalogue's; used only in an issue that has every section it names.")
    signoff: str | None = Field(None, description="Your own sign-off instead of the catalogue's ('DW Team').")
    radar_size: int = Field(10, ge=1, le=12, description="Radar entries to pick (DW Weekly has about 11).")
    min_radar: int = Field(6, ge=0, le=12, description="Fewer Radar entries than this fail the gate: a thin issue.")
    languages: tuple[str, ...] = Field(("en",), description="Languages the issue takes (ISO 639-1 codes).")
    undated: Literal["rank_below", "leave_out"] = Field("rank_below", description="What to do with undated items.")
    language: str = Field("en", description="The edition's language: its fixed words come from the strings "
                          "catalogue templates/strings/LANGUAGE.toml.")
    strings: Path | None = Field(None, description="A strings catalogue file of your own, instead of the bundled one.")
    approval: Literal["required", "auto"] = Field("required", description="`weekly run --send` sends only an issue "
                                                  "an editor approved (`weekly approve N`), or (auto) what it built.")
    first_number: int | None = Field(None, ge=1, description="The first issue's number, when no past issue is in "
                                     "the inputs and none was sent from the store.")

    @model_validator(mode="after")
    def _min_fits(self) -> IssueSettings:
        if self.min_radar > self.radar_size:
            raise ValueError(f"min_radar ({self.min_radar}) is more than radar_size ({self.radar_size})")
        return self


class IngestSettings(Section):
    max_file_mb: float = Field(20, gt=0, description="Larger input files are refused, not read.")


class OutputSettings(Section):
    dir: Path = Path("out")


class SmtpSettings(Section):
    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["ssl", "starttls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    allow_auth_without_tls: bool = Field(False, description="Send the password over an unencrypted connection.")
    validate_certs: bool = True
    ca_file: Path | None = Field(None, description="CA certificates (PEM) to trust, e.g. for a private relay.")
    sender: str = "DW Weekly <newsletter@example.org>"
    reply_to: str | None = Field(None, description="Where readers' replies go, when not to the sender.")
    connections: int = Field(8, ge=1, le=256)
    rate_per_second: float = Field(0, ge=0, description="0: no limit.")
    rate_per_hour: float = Field(0, ge=0, description="0: no limit.")
    max_messages_per_connection: int = Field(1000, ge=1)
    timeout_seconds: float = Field(60, gt=0, description="For each SMTP command once connected.")
    connect_timeout_seconds: float = Field(15, gt=0, description="For the connection and the server's greeting.")
    retries: int = Field(5, ge=0, description="Tries after a 4xx reply before a recipient is left pending for the next run.")
    outage_errors: int = Field(5, ge=1, description="Server-level errors in a row (no connection, 421) that pause the run.")
    retry_base_seconds: float = Field(2, ge=0)
    pause_after_errors: int = Field(50, ge=1, description="Consecutive errors that pause the run.")


class ListSettings(Section):
    id: str = Field("dw-weekly.dig.watch", description="The List-Id (RFC 2919).")
    name: str = "DW Weekly"
    subscribers: Path | None = Field(None, description="The CSV list `weekly run --send` sends to.")
    unsubscribe_mailto: str = "unsubscribe@example.org"
    manager: str | None = Field(None, description="How readers of an issue sent to a list address (--to) leave: "
                                "the list manager's address or page, shown on the page their footer links to.")
    feedback_id: tuple[str, ...] = Field(("{issue}", "newsletter", "dwweekly"), description="Feedback-ID (Gmail "
                                         "Postmaster Tools): up to 3 parts then a sender id, which stays the "
                                         "same; {issue} is the issue number. Empty: no header.")

    @field_validator("feedback_id")
    @classmethod
    def _feedback_parts(cls, parts: tuple[str, ...]) -> tuple[str, ...]:
        if len(parts) > 4 or any(not part or ":" in part or any(c.isspace() for c in part) for part in parts):
            raise ValueError("up to 4 non-empty parts without ':' or spaces, the last the sender id")
        return parts


class DkimKey(Section):
    """One DKIM signature: its selector (the DNS name SELECTOR._domainkey.DOMAIN) and its private key."""

    selector: str = Field(pattern=r"^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)*$")
    key_file: Path = Field(description="An RSA (PEM) or Ed25519 (PEM or base64) private key: a secret, keep "
                           "it readable by the sender only; it is read when the issue is rendered or sent.")


class DkimSettings(Section):
    """DKIM signing of every copy (rsa-sha256, ed25519-sha256); off while there are no keys."""

    domain: str | None = Field(None, description="The d= domain: the From address's domain or its parent.")
    keys: tuple[DkimKey, ...] = Field((), description="One signature per key: RSA for every receiver, an "
                                      "Ed25519 key beside it (RFC 8463) if you like.")

    @model_validator(mode="after")
    def _domain_with_keys(self) -> DkimSettings:
        if self.keys and not self.domain:
            raise ValueError("keys are set but domain is not: set dkim.domain (e.g. dig.watch)")
        return self


class StoreSettings(Section):
    """Where `weekly` keeps the send ledger, suppressions, issue states and the items seen (composer.store)."""

    url: str = Field("state/ledger.sqlite3", description="An SQLite file (the default), or postgresql://USER@HOST/DB "
                     "when `weekly serve` and the sender run on two machines.")
    password: SecretStr | None = Field(None, description="The PostgreSQL password (or PGPASSWORD, ~/.pgpass).")
    busy_timeout_seconds: float = Field(30, gt=0, description="How long a write waits for another process's lock.")
    connect_timeout_seconds: float = Field(10, gt=0, description="For reaching a PostgreSQL server.")

    @field_validator("url")
    @classmethod
    def _no_password_in_url(cls, url: str) -> str:
        if "://" in url and "@" in url.split("://", 1)[1].split("/", 1)[0] and \
                ":" in url.split("://", 1)[1].split("@", 1)[0]:
            raise ValueError("holds a password: leave it out of the URL and set WEEKLY_STORE__PASSWORD")
        # Anything else with a scheme would be taken for a file name: a new, empty store, which mails the
        # readers the real one has suppressed.
        scheme = re.match(r"[A-Za-z][A-Za-z0-9+.-]*:", url)
        if scheme and not url.startswith(("postgresql://", "postgres://", "sqlite:///")):
            raise ValueError(f"a URL of scheme {scheme.group(0)[:-1]!r} is no store weekly knows: give a file path "
                             "(state/ledger.sqlite3, or sqlite:///path) or postgresql://USER@HOST/DB")
        return url


class LogSettings(Section):
    file: Path = Path("state/weekly.log")


class BouncesSettings(Section):
    soft_limit: int = Field(3, ge=1, description="Issues in which an address soft-bounced before it is suppressed.")
    address: str | None = Field(None, description="Where bounces go: the envelope sender (MAIL FROM, seen as "
                                "Return-Path), a mailbox `weekly bounces` reads; unset, smtp.sender's address.")
    verp: bool = Field(False, description="Each copy's MAIL FROM is LOCAL+TAG@DOMAIN of bounces.address, TAG "
                       "naming the copy, so a bounce that quotes nothing of it is matched too (the mail server "
                       "must deliver LOCAL+anything to LOCAL: Postfix's recipient_delimiter = +).")

    @field_validator("address")
    @classmethod
    def _plain_address(cls, address: str | None) -> str | None:
        if address is not None and (address.count("@") != 1 or any(c in address for c in " <>\r\n")):
            raise ValueError("a plain address, like bounces@dig.watch")
        return address


class MailSettings(Section):
    """What sending needs and nothing more (`Settings.mail`): the server, the list, the links."""

    smtp: SmtpSettings
    list: ListSettings
    unsubscribe_url: str
    signing_key: SecretStr | None = None
    dkim: DkimSettings = DkimSettings()
    bounces: BouncesSettings = BouncesSettings()


class ServeSettings(Section):
    """`weekly serve`: the unsubscribe endpoint and the archive, behind a reverse proxy."""

    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    allowed_hosts: tuple[str, ...] = Field(("127.0.0.1", "localhost", "dig.watch"),
                                           description="Host headers answered (the public name behind the proxy).")
    rate_per_minute: int = Field(60, ge=1, description="Requests per client per minute, a valid unsubscribe "
                                 "token's excepted (a provider posts many from one address); more get 429.")
    max_body_bytes: int = Field(64 * 1024, ge=1024, description="A larger request body gets 413, unread.")
    header_timeout_seconds: float = Field(10, gt=0, description="A connection that has not sent a request's "
                                          "headers in this time is closed.")
    max_connections: int = Field(512, ge=1, description="Open connections at most (and below the process's "
                                 "file limit); more are closed at once.")
    queue_file: Path = Field(Path("state/unsubscribe-queue.jsonl"), description="One-clicks are written here "
                             "first, then applied to the store, so none is lost while the store is busy.")


class SignupSettings(Section):
    """Sign-up with double opt-in on `weekly serve` (composer.web.signup)."""

    confirm_hours: float = Field(48, gt=0, description="How long a confirmation link works; unconfirmed sign-ups "
                                 "are forgotten after it.")
    welcome: bool = Field(True, description="Send a welcome mail once a reader confirms.")
    per_hour: int = Field(5, ge=1, description="Sign-up requests per client (and per address) an hour; more get 429.")


class ImapSettings(Section):
    password: SecretStr | None = None
    ca_file: Path | None = Field(None, description="CA certificates (PEM) to trust for imaps://, e.g. a private CA.")


class LlmSettings(Section):
    """An OpenAI-compatible chat endpoint for teasers, headlines and the editorial; off while base_url is unset."""

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:11434/v1 for Ollama")
    model: str = "llama3.1"
    api_key: SecretStr | None = None
    timeout_seconds: float = Field(30, gt=0, le=600)

    _url = field_validator("base_url")(_web_url)


_SLUG = re.compile(r"[^a-z0-9]+")


def source_slug(name: str) -> str:
    """A source's name as a file name: "dig.watch updates" -> "dig-watch-updates"."""
    return _SLUG.sub("-", name.lower()).strip("-")


class SourceSettings(Section):
    """One source `weekly fetch` reads by URL: a feed (RSS, Atom, JSON Feed) or a WordPress REST API."""

    name: str = Field(min_length=1, description="What messages call it; its copy is CACHE_DIR/NAME.xml.")
    url: str = Field(pattern=r"^https?://[^/\s]+", description="The feed's URL, or the WordPress REST API's root "
                     "(https://dig.watch/wp-json/wp/v2).")
    kind: Literal["feed", "wordpress"] = "feed"
    post_type: str = Field("posts", pattern=r"^[a-z0-9_-]+$", description="wordpress: the post type's route "
                           "(posts, or a custom type such as dig.watch's updates).")
    per_page: int = Field(100, ge=1, le=100, description="wordpress: posts asked for per page (100 at most).")

    @field_validator("name")
    @classmethod
    def _usable_name(cls, name: str) -> str:
        if not source_slug(name):
            raise ValueError("needs a letter or a digit (it names the source's copy on disk)")
        return name


class SourcesSettings(Section):
    """`weekly fetch` (and `build`, `run` unless --offline): the sources read by URL, as a feed reader does."""

    fetch: tuple[SourceSettings, ...] = Field((), description="The sources; none: only the paths given are read.")
    contact_url: str | None = Field(None, description="In the User-Agent, so a site's admin can reach you; "
                                    "unset, brand.site_url.")
    cache_dir: Path = Field(Path("state/sources"), description="Each source's last good copy and its "
                            "HTTP validators (ETag, Last-Modified).")
    timeout_seconds: float = Field(20, gt=0, description="Each request, from connecting to the last byte.")
    source_timeout_seconds: float = Field(120, gt=0, description="One source: all its pages and retries.")
    max_mb: float = Field(10, gt=0, description="A larger answer (after gzip) is refused.")
    per_host: int = Field(2, ge=1, le=16, description="Requests at once to one host.")
    retries: int = Field(2, ge=0, le=10, description="After a 5xx answer, a timeout or a dropped connection; "
                         "never after a 4xx.")
    retry_base_seconds: float = Field(1, ge=0, description="Backoff: 1, 2, 4 … seconds, with jitter.")
    max_redirects: int = Field(5, ge=0, le=20)
    days: int = Field(8, ge=1, le=62, description="wordpress: posts of the last DAYS days (the issue's week "
                      "and a day to spare), or from --week.")
    max_failed_share: float = Field(0.5, ge=0, le=1, description="`weekly run --send` sends nothing when the "
                                    "sources that failed carried more than this share of the last week's items.")

    _contact = field_validator("contact_url")(_web_url)

    @field_validator("fetch")
    @classmethod
    def _distinct(cls, sources: tuple[SourceSettings, ...]) -> tuple[SourceSettings, ...]:
        slugs = [source_slug(source.name) for source in sources]
        twice = next((source.name for source, slug in zip(sources, slugs, strict=True) if slugs.count(slug) > 1), None)
        if twice:
            raise ValueError(f"two sources are named {twice!r} (or the same but for punctuation)")
        return sources


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="WEEKLY_",
        env_nested_delimiter="__",
        extra="forbid",
        # A .env holds other programs' variables too (systemd's EnvironmentFile, PGPASSWORD): only WEEKLY_*
        # ones are ours, and a misspelt one of those is still an unknown key.
        dotenv_filtering="match_prefix",
        frozen=True,
    )

    brand: BrandSettings = BrandSettings()
    issue: IssueSettings = IssueSettings()
    ingest: IngestSettings = IngestSettings()
    sources: SourcesSettings = SourcesSettings()
    output: OutputSettings = OutputSettings()
    smtp: SmtpSettings = SmtpSettings()
    llm: LlmSettings = LlmSettings()
    list: ListSettings = ListSettings()
    store: StoreSettings = StoreSettings()
    log: LogSettings = LogSettings()
    serve: ServeSettings = ServeSettings()
    bounces: BouncesSettings = BouncesSettings()
    signup: SignupSettings = SignupSettings()
    imap: ImapSettings = ImapSettings()
    dkim: DkimSettings = DkimSettings()
    signing_key: SecretStr | None = Field(None, description="Signs unsubscribe links: 32 bytes or more.")

    @field_validator("signing_key")
    @classmethod
    def _long_enough(cls, key: SecretStr | None) -> SecretStr | None:
        if key is not None and len(key.get_secret_value().encode()) < MIN_KEY_BYTES:
            raise ValueError(f"must be at least {MIN_KEY_BYTES} bytes; make one with "
                             "`python3 -c 'import secrets; print(secrets.token_urlsafe(32))'`")
        return key

    @property
    def mail(self) -> MailSettings:
        return MailSettings(smtp=self.smtp, list=self.list, unsubscribe_url=self.brand.unsubscribe_url, signing_key=self.signing_key,
                            dkim=self.dkim, bounces=self.bounces)

    @classmethod
    def settings_customise_sources(
        cls, settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
    ):
        toml_values, secret_values = _file_values.get()
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            InitSettingsSource(settings_cls, init_kwargs=secret_values),
            InitSettingsSource(settings_cls, init_kwargs=toml_values),
        )


# The TOML and secret-file values for the Settings being built; a context variable because
# settings_customise_sources is a classmethod and cannot see load_settings' arguments.
_file_values: ContextVar[tuple[dict, dict]] = ContextVar("_file_values", default=({}, {}))


def project_folder() -> Path:
    """The folder relative paths in the settings resolve from: WEEKLY_HOME if set, else the nearest folder
    from the working folder up that holds config/weekly.toml, else the working folder. So `weekly` run
    from out/210 or from a cron job's own folder uses the project's store, log and issues, never new ones."""
    if os.environ.get("WEEKLY_HOME"):
        home = Path(os.environ["WEEKLY_HOME"]).expanduser()
        if not home.is_dir():
            raise ConfigError(f"WEEKLY_HOME={home}: no such folder")
        return home.resolve()
    here = Path.cwd()
    return next((folder for folder in (here, *here.parents) if (folder / DEFAULT_CONFIG).is_file()), here)


def _where_set(key: str, toml: Path, env_file: Path | None) -> str:
    """Where the value of `key` came from, in the order that wins: the environment's variable, the .env
    file's line, the TOML file's line; all three when none holds it (a missing key, a list item)."""
    env = "WEEKLY_" + key.replace(".", "__").upper()
    if any(name.upper() == env for name in os.environ):
        return env
    for found in (_line_of(env_file, rf"\s*(?:export\s+)?{re.escape(env)}\s*=", re.IGNORECASE),
                  _toml_line(toml, key)):
        if found:
            return found
    return f"{toml}, .env or {env}"


def _line_of(path: Path | None, pattern: str, flags: int = 0, after: int = 0) -> str | None:
    """`path:N` of the first line from line `after` on that matches `pattern`, or None."""
    if path is None or not path.is_file():
        return None
    lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    return next((f"{path}:{number}" for number, line in enumerate(lines, start=1)
                 if number > after and re.match(pattern, line, flags)), None)


def _toml_line(path: Path, key: str) -> str | None:
    """The line of `table.name = …` in a TOML file: the name under its [table] header, or at the top."""
    table, _, name = key.rpartition(".")
    start = 0
    if table:
        header = _line_of(path, rf"\s*\[\s*{re.escape(table)}\s*\]\s*(#.*)?$")
        if header is None:
            return None
        start = int(header.rsplit(":", 1)[1])
    found = _line_of(path, rf"\s*(?:{re.escape(name)}|\"{re.escape(name)}\")\s*=", after=start)
    # the name must be in that table: before the next header
    next_header = _line_of(path, r"\s*\[", after=start)
    if found and next_header and int(found.rsplit(":", 1)[1]) > int(next_header.rsplit(":", 1)[1]):
        return None
    return found


def load_settings(
    config_file: Path | None = None, env_file: Path | None = Path(".env"), secrets_dir: Path | None = None
) -> Settings:
    """Read the effective settings; `config_file` None means WEEKLY_CONFIG or config/weekly.toml if present.

    Relative paths given here are the caller's (the working folder's); the default config/weekly.toml and
    .env, and every relative path *in* the settings (store.url, output.dir, log.file, list.subscribers …),
    resolve from `project_folder()`."""
    home = project_folder()
    explicit = config_file or (Path(os.environ["WEEKLY_CONFIG"]) if os.environ.get("WEEKLY_CONFIG") else None)
    path = explicit or home / DEFAULT_CONFIG
    if explicit and not explicit.is_file():
        raise ConfigError(f"{explicit}: config file not found")
    if env_file == Path(".env"):  # the default: the project's .env, if it has one
        env_file = home / ".env"
    elif env_file is not None and not env_file.is_file():
        raise ConfigError(f"{env_file}: env file not found (--env-file)")
    values = _read_toml(path) if path.is_file() else {}
    secrets = _read_secrets(secrets_dir) if secrets_dir else {}
    token = _file_values.set((values, secrets))
    try:
        return _anchored(Settings(_env_file=env_file), home)
    except ValidationError as err:
        key, reason = invalid_key(err)
        if key.startswith("ledger"):
            reason = "renamed: the send ledger is now part of the store, set store.url (WEEKLY_STORE__URL)"
        raise ConfigError(f"setting {key} (from {_where_set(key, path, env_file)}): {reason}") from err
    except SettingsError as err:  # a list or table given in the environment that is not JSON
        raise ConfigError(_not_json(err, env_file)) from err
    finally:
        _file_values.reset(token)


def _not_json(err: SettingsError, env_file: Path | None) -> str:
    """One line naming the variable pydantic-settings could not read: a list or table setting in the
    environment (or .env) is written as JSON."""
    import json
    from typing import get_origin

    field = re.search(r'field "([^"]+)"', str(err))
    section = Settings.model_fields.get(field.group(1)) if field else None
    model = section.annotation if section else None
    named = []
    for name, value in os.environ.items():
        parts = name.lower().removeprefix("weekly_").split("__")
        if not name.upper().startswith("WEEKLY_") or not field or parts[0] != field.group(1):
            continue
        inner = model.model_fields.get(parts[1]) if len(parts) == 2 and isinstance(model, type) and \
            issubclass(model, BaseModel) else None
        complex_value = len(parts) == 1 or (inner is not None and get_origin(inner.annotation) in (list, tuple, dict, set))
        try:
            json.loads(value)
        except ValueError:
            if complex_value:
                named.append(name)
    where = ", ".join(sorted(named)) or f"WEEKLY_{field.group(1).upper() if field else ''}__… (the environment or " \
        f"{env_file or '.env'})"
    return (f"setting {where}: a list or table in the environment is written as JSON, e.g. "
            f"WEEKLY_SERVE__ALLOWED_HOSTS='[\"dig.watch\"]' or WEEKLY_ISSUE__LANGUAGES='[\"en\"]'")


def _anchored(settings: Settings, home: Path) -> Settings:
    """`settings` with every relative path made absolute from `home` (the project folder)."""
    def at(path: Path | None) -> Path | None:
        if path is None:
            return None
        path = path.expanduser()
        return path if path.is_absolute() else home / path

    def section(model, **paths: Path | None):
        return model.model_copy(update={name: at(value) for name, value in paths.items()})

    url = settings.store.url
    if "://" not in url or url.startswith("sqlite:///"):
        url = str(at(Path(url.removeprefix("sqlite:///"))))
    keys = tuple(section(key, key_file=key.key_file) for key in settings.dkim.keys)
    return settings.model_copy(update={
        "store": settings.store.model_copy(update={"url": url}),
        "output": section(settings.output, dir=settings.output.dir),
        "log": section(settings.log, file=settings.log.file),
        "list": section(settings.list, subscribers=settings.list.subscribers),
        "smtp": section(settings.smtp, ca_file=settings.smtp.ca_file),
        "imap": section(settings.imap, ca_file=settings.imap.ca_file),
        "issue": section(settings.issue, strings=settings.issue.strings),
        "serve": section(settings.serve, queue_file=settings.serve.queue_file),
        "sources": section(settings.sources, cache_dir=settings.sources.cache_dir),
        "dkim": settings.dkim.model_copy(update={"keys": keys}),
    })


def _read_toml(path: Path) -> dict:
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from err
    except RecursionError as err:
        raise ConfigError(f"{path}: nested too deeply to be settings") from err
    for key_path in SECRET_KEYS:
        node: object = values
        for key in key_path:
            node = node.get(key) if isinstance(node, dict) else None
        if node is not None:
            dotted = ".".join(key_path)
            env = "WEEKLY_" + "__".join(key_path).upper()
            raise ConfigError(f"{path}: {dotted} is a secret and does not belong in the config file; set {env}")
    return values


def _read_secrets(secrets_dir: Path) -> dict:
    """One file per secret, named by its key path joined with `__` (Docker and systemd credentials)."""
    if not secrets_dir.is_dir():
        raise ConfigError(f"{secrets_dir}: secrets directory not found")
    values: dict = {}
    for key_path in SECRET_KEYS:
        path = secrets_dir / "__".join(key_path)
        if not path.is_file():
            continue
        node = values
        for key in key_path[:-1]:
            node = node.setdefault(key, {})
        try:
            node[key_path[-1]] = path.read_text(encoding="utf-8").strip()
        except UnicodeDecodeError as err:
            raise ConfigError(f"{path}: a secret file must be UTF-8 text (byte {err.start} is not)") from err
        except OSError as err:
            raise ConfigError(f"{path}: cannot read the secret: {err.strerror or err}") from err
    return values


class Basket(Section):
    theme: str
    cues: tuple[str, ...]
    strong: tuple[str, ...] = Field((), description="Cues that settle the basket: each hit counts three times.")
    related: tuple[str, ...] = Field((), description="Cues that count like `cues` but are no topic phrases.")


class KindCues(Section):
    cues: tuple[str, ...] = ()
    url_cues: tuple[str, ...] = ()


class Relevance(Section):
    """What makes a story DW Weekly's: about the digital world and about policy, rights, security or the
    digital economy. Distinct cues count (a title's count twice); a story needs `min_digital` digital cues
    (or technologies), `min_policy` policy or economy cues, and `min_score` of all together."""

    digital: tuple[str, ...] = ()
    policy: tuple[str, ...] = ()
    economy: tuple[str, ...] = ()
    security: tuple[str, ...] = Field((), description="Cyber incidents (ransomware, exploited flaws): digital and "
                                                      "policy at once, since securing the digital world is policy.")
    context: tuple[str, ...] = Field((), description="Words that add to the score but never make a story policy alone.")
    topics: tuple[str, ...] = Field((), description="Technologies (of [technologies]) on the beat for their own sake: a "
                                                    "story whose title names one, or whose lead names two of its cues.")
    not_news: tuple[str, ...] = Field((), description="Title phrases of what is no news story: 'how to', 'review:'.")
    ignore: tuple[str, ...] = Field((), description="Phrases blanked out first: 'cyber monday' is no cyber cue.")
    min_digital: int = Field(1, ge=0)
    min_policy: int = Field(1, ge=0, description="Policy and economy cues together.")
    min_score: int = Field(3, ge=0)


class Taxonomy(Section):
    """config/topics.toml: the Digital Watch baskets, technologies, kind cues and what is on the beat."""

    default_basket: str
    baskets: dict[str, Basket]
    technologies: dict[str, tuple[str, ...]] = {}
    kinds: dict[Literal["blog", "event"], KindCues] = {}
    relevance: Relevance | None = None  # without it, every story counts as on the beat


def bundled(folder: str) -> Path:
    """A data folder shipped with weekly: composer/FOLDER in an installed wheel, the checkout's FOLDER otherwise.

    templates/ and config/ live at the top of the checkout, where an editor finds them; pyproject.toml
    maps them into the package (composer/templates, composer/defaults) when a wheel is built.
    """
    package = Path(__file__).resolve().parent
    installed = package / {"config": "defaults"}.get(folder, folder)
    return installed if installed.is_dir() else package.parent / folder


def load_taxonomy(path: Path | None = None) -> Taxonomy:
    """The taxonomy from `path`, config/topics.toml in the project folder, or the bundled one."""
    local = project_folder() / "config" / "topics.toml"
    path = path or (local if local.is_file() else bundled("config") / "topics.toml")
    try:
        taxonomy = Taxonomy.model_validate(_read_toml(path))
    except ValidationError as err:
        key, reason = invalid_key(err)
        raise ConfigError(f"{path}: {key}: {reason}") from err
    if taxonomy.default_basket not in taxonomy.baskets:
        raise ConfigError(f"{path}: default_basket {taxonomy.default_basket!r} is not one of the baskets")
    unknown = [name for name in (taxonomy.relevance.topics if taxonomy.relevance else ()) if name not in taxonomy.technologies]
    if unknown:
        raise ConfigError(f"{path}: relevance.topics {unknown[0]!r} is not one of the technologies")
    return taxonomy
