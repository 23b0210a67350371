"""The `weekly` command: parse arguments, call one stage, print, return an exit code.

Exit codes: 0 success, 1 a user or data error (one line each on stderr, no traceback),
2 a usage error (argparse). Stages never print; everything a user sees is printed here.
Heavy imports happen inside the commands so `weekly --help` starts fast.
"""

from __future__ import annotations

import argparse
import errno
import json
import os
import shlex
import signal
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from composer import __version__
from composer.errors import WeeklyError

DEFAULT_INPUTS = [Path("seeds")]
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


class Interrupted(WeeklyError):
    """Ctrl-C or SIGTERM stopped a command; the message says how to resume it."""


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    # SIGTERM (systemd stopping the service, `kill`) ends a run as Ctrl-C does: cleanly, with the resume command.
    previous = signal.signal(signal.SIGTERM, _interrupt) if threading.current_thread() is threading.main_thread() \
        else None
    try:
        return args.command(args)
    except Interrupted as err:
        print(f"error: {err}", file=sys.stderr)
        return 130
    except WeeklyError as err:
        _report(err.problems)
        print(f"error: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except OSError as err:
        if err.errno not in _DISK_FULL:
            raise
        # A full disk (or a file-size limit) can strike at any write; wherever it does, one line.
        print(f"error: {err.filename or 'a file'}: {err.strerror}: free some space and run the command again",
              file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)


def _interrupt(signum, frame) -> None:
    raise KeyboardInterrupt


@contextmanager
def _resumable(resume: str):
    """Ctrl-C or SIGTERM inside: say that nothing more is sent and how to go on."""
    try:
        yield
    except KeyboardInterrupt as err:
        raise Interrupted(f"interrupted; nothing more is sent. Resume with: {resume}") from err


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="weekly",
        description="Compose and send the Digital Watch weekly newsletter (DW Weekly).",
        epilog="example:\n  weekly build seeds/        # the issue in out/210 (OUTPUT_DIR/NUMBER)\n\nRun `weekly COMMAND --help` for each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"weekly {__version__}")
    parser.add_argument("--config", type=Path, metavar="FILE",
                        help="settings file (default: $WEEKLY_CONFIG or config/weekly.toml)")
    parser.add_argument("--env-file", type=Path, default=Path(".env"), metavar="FILE",
                        help="dotenv file with WEEKLY_* settings and secrets (default: .env)")
    parser.add_argument("--secrets-dir", type=Path, metavar="DIR",
                        help="folder of secret files named smtp__password, llm__api_key, signing_key")
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)

    items = _command(commands, "items", _items, "list the items read from the inputs",
                     "weekly items seeds/\n  weekly items seeds/ feed.xml --json > items.json")
    items.add_argument("paths", nargs="*", type=Path, metavar="PATH",
                       help="input files or folders (default: seeds/)")
    items.add_argument("--json", action="store_true", help="print a JSON array instead of a table")

    fetch = _command(commands, "fetch", _fetch,
                     "fetch the sources (sources.fetch: feeds, WordPress REST APIs) into their copies in "
                     "sources.cache_dir",
                     "weekly fetch\n  weekly fetch --since 2025-05-02   # WordPress posts from that day")
    fetch.add_argument("--since", type=date.fromisoformat, metavar="YYYY-MM-DD",
                       help="WordPress posts published from this day (default: sources.days before today)")
    fetch.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD", help="as if run on that day")

    compose = _command(commands, "compose", _compose, "compose the next issue's draft (issue.yaml) for an editor",
                       "weekly compose seeds/ -o out/issue.yaml\n  weekly compose seeds/ feed.xml --issue 211 "
                       "--week 2025-05-02 --pin 3f2a --block 'Blue Origin'")
    _issue_options(compose)
    _replace_option(compose)
    _offline_option(compose)
    compose.add_argument("-o", "--out", type=Path, metavar="FILE",
                         help="the draft file to write (default: OUTPUT_DIR/issue.yaml)")

    why = _command(commands, "why", _why, "say why an item is in the next issue or not: its outcome and score parts",
                   "weekly why 3f2a\n  weekly why 'Cisco ISE' seeds/ feeds/ --week 2025-05-02")
    why.add_argument("item", metavar="ITEM", help="an item id (or its first characters) or words of its title")
    _issue_options(why)

    render = _command(commands, "render", _render, "render a draft (issue.yaml) into the email files",
                      "weekly render out/210/issue.yaml        # after editing the draft in its folder\n"
                      "  weekly render out/issue.yaml -o out/210")
    render.add_argument("draft", type=Path, metavar="DRAFT", help="the draft file, as written by compose")
    _replace_option(render)
    render.add_argument("-o", "--out", type=Path, metavar="DIR",
                        help="the issue's folder (default: OUTPUT_DIR/NUMBER, e.g. out/210); the draft is kept there")

    build = _command(commands, "build", _build, "compose the next issue and render it to disk (compose + render)",
                     "weekly build\n  weekly build seeds/ feed.xml --issue 211 -o out/211")
    _issue_options(build)
    _replace_option(build)
    _offline_option(build)
    build.add_argument("-o", "--out", type=Path, metavar="DIR",
                       help="the issue's folder (default: OUTPUT_DIR/NUMBER, e.g. out/210; the archive index "
                            "OUTPUT_DIR/index.html lists the issues built there)")

    check = _command(commands, "check", _check, "check a rendered issue before sending it (exit 1 on any problem)",
                     "weekly check out/210")
    check.add_argument("folder", type=Path, metavar="DIR", help="the folder `render` or `build` wrote")

    approve = _command(commands, "approve", _approve,
                       "approve an issue's draft as it is now: `weekly run --send` sends only approved issues",
                       "weekly approve 210\n  weekly approve --by 'Ana (editor)'   # the newest unsent issue")
    approve.add_argument("number", type=int, nargs="?", metavar="N", help="the issue (default: the newest unsent one)")
    approve.add_argument("--by", metavar="NAME", help="who approves (default: the login name)")

    _command(commands, "issues", _issues,
             "list the issues: number, week, state (composed, edited, approved, sending, sent, stopped) and counts",
             "weekly issues")

    preview = _command(commands, "preview", _preview,
                       "show the email at 600 and 375 px in a local browser page, or write screenshots",
                       "weekly preview out/210/issue.yaml --port 8025\n  weekly preview out/210 --png docs/ --dark")
    preview.add_argument("source", type=Path, metavar="DRAFT|DIR", nargs="?",
                         help="a draft file (re-rendered when it changes) or a rendered folder (default: the "
                              "newest issue under OUTPUT_DIR)")
    preview.add_argument("--port", type=_port, default=8025, help="port on 127.0.0.1 (default: 8025; 0 picks one)")
    preview.add_argument("--png", type=Path, metavar="DIR",
                         help="write preview-600.png and preview-375.png with headless Chromium instead")
    preview.add_argument("--dark", action="store_true",
                         help="with --png: as a reader in dark mode sees it (preview-dark-600.png, preview-dark-375.png)")

    send = _command(commands, "send", _send,
                    "send a rendered issue over SMTP, exactly once per subscriber (asks first; resumable)",
                    "weekly send out/210 --list subscribers.csv --dry-run\n  weekly send out/210 --test-to me@example.org"
                    "\n  weekly send out/210 --list subscribers.csv --yes\n  weekly send out/210 --to dw-weekly@lists.example.org")
    send.add_argument("folder", type=Path, metavar="DIR", help="the issue folder (issue.yaml, index.html, issue.txt)")
    audience = send.add_mutually_exclusive_group()
    audience.add_argument("--list", type=Path, metavar="FILE", dest="list_file",
                          help="CSV of subscribers: an `email` column, optional `name` (default: list.subscribers; "
                               "unset, the subscriber store's readers: `weekly subscribers`)")
    audience.add_argument("--to", metavar="ADDRESS", help="one list address (Mailman, Sympa) instead of a CSV")
    send.add_argument("--column", action="append", default=[], metavar="FIELD=NAME", type=_column_given,
                      help="with --list: the column holding FIELD (email, name, status …), when it is not found by "
                           "its name; repeatable")
    send.add_argument("--dry-run", action="store_true", help="show what would be sent; send and record nothing")
    send.add_argument("--limit", type=int, metavar="N", help="send at most N messages in this run")
    send.add_argument("--test-to", metavar="ADDRESS", help="send one copy to ADDRESS, outside the ledger")
    _retry_options(send)
    send.add_argument("--force", action="store_true",
                      help="send even though `weekly check` finds problems (each is printed and logged)")
    send.add_argument("--yes", action="store_true", help="do not ask for confirmation (cron)")

    status = _command(commands, "status", _status, "show the send ledger of an issue: counts and problems",
                      "weekly status out/210")
    status.add_argument("folder", type=Path, metavar="DIR", help="the issue folder")

    unsubscribe = _command(commands, "unsubscribe", _unsubscribe,
                           "verify an unsubscribe token and never send to its address again",
                           "weekly unsubscribe c.3.6iy21tdBJACihMxI6wqE9Q\n"
                           "  weekly unsubscribe 'https://dig.watch/newsletter/unsubscribe?token=c.3.6iy21tdBJACihMxI6wqE9Q'")
    unsubscribe.add_argument("token", help="the token from a List-Unsubscribe URL (?token=…), or the whole URL")

    run = _command(commands, "run", _run,
                   "build this week's issue and, with --send, check it and send it (for cron; exit 1 says why not)",
                   "weekly run feeds/   # Wednesday: the draft for the editor\n"
                   "  weekly run --send feeds/   # Friday: the approved issue to list.subscribers\n"
                   "  weekly run --send feeds/ --today 2025-05-09   # as if run on that day")
    _issue_options(run)
    _replace_option(run)
    _offline_option(run)
    run.add_argument("--send", action="store_true",
                     help="send this week's issue to list.subscribers (unset: the subscriber store's readers) once "
                          "approved (issue.approval) and checked")
    _retry_options(run)

    serve = _command(commands, "serve", _serve,
                     "serve one-click unsubscribe (RFC 8058) and the archive over HTTP, behind a TLS proxy",
                     "weekly serve\n  weekly serve --host 127.0.0.1 --port 8080   # nginx or Caddy in front")
    serve.add_argument("--host", help="address to listen on (default: serve.host, 127.0.0.1)")
    serve.add_argument("--port", type=_port, help="port (default: serve.port, 8080; 0 picks one)")

    bounces = _command(commands, "bounces", _bounces,
                       "read bounces (DSN), complaints (ARF) and mailed unsubscriptions; suppress those addresses",
                       "weekly bounces /var/mail/bounces\n  weekly bounces ~/Maildir/.Bounces\n"
                       "  WEEKLY_IMAP__PASSWORD=… weekly bounces imaps://bounces@mail.example.org/INBOX")
    bounces.add_argument("source", metavar="SOURCE",
                         help="an mbox file, a Maildir folder, one saved message (.eml) or imaps://USER@HOST/MAILBOX")

    suppressed = _command(commands, "suppressed", _suppressed,
                          "list, export, add or remove suppressed addresses (unsubscribed, bounced, complained)",
                          "weekly suppressed\n  weekly suppressed --export suppressed.csv\n"
                          "  weekly suppressed --add someone@example.org --reason 'asked by phone'\n"
                          "  weekly suppressed --remove someone@example.org")
    what = suppressed.add_mutually_exclusive_group()
    what.add_argument("--export", type=Path, metavar="CSV", help="write email,reason,added to a CSV file")
    what.add_argument("--add", metavar="ADDRESS", help="suppress an address by hand")
    what.add_argument("--remove", metavar="ADDRESS", help="send to a suppressed address again")
    suppressed.add_argument("--reason", default="manual", help="with --add: why (default: manual)")
    suppressed.add_argument("--force", action="store_true",
                            help="with --remove: also an address that complained, hard-bounced or was erased")

    subscribers = _command(commands, "subscribers", _subscribers,
                           "the subscriber store: import an export, list, add, remove, export or erase readers",
                           "weekly subscribers import mailchimp/subscribed_members_export.csv\n"
                           "  weekly subscribers import readers.csv --column email='E-mail' --column name='Full name'\n"
                           "  weekly subscribers list --status subscribed\n"
                           "  weekly subscribers add reader@example.org --name 'Ana Reader'\n"
                           "  weekly subscribers remove reader@example.org\n"
                           "  weekly subscribers export -o readers.csv\n"
                           "  weekly subscribers export reader@example.org   # all held about one person (JSON)\n"
                           "  weekly subscribers erase reader@example.org --yes")
    actions = subscribers.add_subparsers(title="actions", metavar="ACTION", dest="action", required=True)
    imported = actions.add_parser("import", help="add the readers of a CSV file or export, keeping their statuses")
    imported.add_argument("file", type=Path, metavar="FILE",
                          help="weekly's export, or Mailchimp's, listmonk's, Buttondown's or Substack's")
    imported.add_argument("--column", action="append", default=[], metavar="FIELD=NAME", type=_column_given,
                          help="the column holding FIELD (email, name, first_name, last_name, status, created, "
                               "confirmed), when it is not found by its name; repeatable")
    listed = actions.add_parser("list", help="the readers, with status, since when and where from")
    listed.add_argument("--status", metavar="STATUS",
                        choices=("unconfirmed", "subscribed", "unsubscribed", "bounced", "complained"),
                        help="only readers in STATUS: unconfirmed, subscribed, unsubscribed, bounced or complained")
    added = actions.add_parser("add", help="subscribe an address by hand (you vouch for its consent)")
    added.add_argument("address", metavar="ADDRESS")
    added.add_argument("--name", default="", help="the reader's name")
    removed = actions.add_parser("remove", help="unsubscribe an address by hand")
    removed.add_argument("address", metavar="ADDRESS")
    exported = actions.add_parser("export", help="every reader as CSV, or everything held about one ADDRESS as JSON")
    exported.add_argument("address", metavar="ADDRESS", nargs="?", help="one person: every row about them")
    exported.add_argument("-o", "--out", type=Path, metavar="FILE", help="write to FILE (default: standard output)")
    erased = actions.add_parser("erase", help="delete everything held about ADDRESS; a keyed hash keeps it unmailed")
    erased.add_argument("address", metavar="ADDRESS")
    erased.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    _command(commands, "config", _config, "show the effective settings, secrets masked",
             "weekly config\n  WEEKLY_SMTP__HOST=mail.example.org weekly config")
    return parser


def _retry_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--retry-failed", action="store_true",
                     help="also send again to recipients that failed before (a 5xx reply)")
    sub.add_argument("--retry-unknown", action="store_true",
                     help="also send again to recipients whose outcome is unknown (the connection dropped after "
                          "the message went out): some of them will get a second copy")


def _issue_options(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="input files or folders (default: seeds/)")
    sub.add_argument("--issue", type=int, metavar="N", help="issue number (default: the newest past issue's + 1)")
    sub.add_argument("--week", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="first day of the issue's week (default: the end of the newest past issue's week)")
    sub.add_argument("--pin", action="append", default=[], metavar="ID|WORDS",
                     help="put this item (id prefix or title words) in the issue first; repeatable")
    sub.add_argument("--block", action="append", default=[], metavar="ID|WORDS",
                     help="leave this item (id prefix or title words) out; repeatable")
    sub.add_argument("--today", type=date.fromisoformat, metavar="YYYY-MM-DD",
                     help="the date to compose on (default: today); used when no past issue dates the week")
    sub.add_argument("--topics", type=Path, metavar="FILE",
                     help="the baskets and cue words (default: config/topics.toml if present, else the bundled one)")


def _replace_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--replace", action="store_true",
                     help="write over a draft an editor changed (it is kept as issue.yaml.N first)")


def _offline_option(sub: argparse.ArgumentParser) -> None:
    sub.add_argument("--offline", action="store_true",
                     help="do not fetch the sources (sources.fetch) first: read the copies fetched before")


def _compose_args(args, settings):
    """The inputs (the sources fetched first, unless --offline), the options and the day to compose on."""
    from composer.pipeline import ComposeOptions

    options = ComposeOptions(issue_number=args.issue, week_start=args.week, pins=tuple(args.pin),
                             blocks=tuple(args.block), topics=args.topics, replace=getattr(args, "replace", False))
    today = args.today or date.today()
    online = not getattr(args, "offline", True)  # `weekly why` explains from the copies as they are
    paths, fetched = _inputs(args.paths, settings, today, online, since=args.week)
    return paths, options, today, fetched


def _inputs(paths: list[Path], settings, today: date, online: bool, since: date | None = None):
    """The paths given (default seeds/ while no sources are set) and the sources' copies, fetched first when
    `online`; each source's failure is printed as it happens, once."""
    if not settings.sources.fetch:
        return paths or DEFAULT_INPUTS, None
    from composer.sources import fetch  # httpx and rich: 0.1 s of a build that fetches nothing

    fetched = fetch(settings, today, since=since, offline=not online)
    _print_fetch_problems(fetched)
    if not paths and not fetched.paths:
        raise WeeklyError("nothing to read: no source in sources.fetch has a good copy yet (`weekly fetch` makes "
                          "them) and no PATHS were given")
    return [*paths, *fetched.paths], fetched


def _print_fetch_problems(fetched) -> None:
    from composer.sources import Outcome

    for outcome in fetched.outcomes:
        if outcome.reason:
            kept = (f"its copy of {outcome.copied_at:%Y-%m-%d %H:%M} UTC is read instead" if outcome.copied_at
                    else "nothing of it is read")
            level = "warning" if outcome.outcome is Outcome.KEPT else "error"
            print(f"{level}: source {outcome.name} ({outcome.url}): {outcome.reason}; {kept}", file=sys.stderr)
        if outcome.moved_to:
            print(f"warning: source {outcome.name}: {outcome.url} moved permanently to {outcome.moved_to}; set that "
                  "URL in sources.fetch", file=sys.stderr)
        for note in outcome.notes:
            print(f"warning: source {outcome.name}: {note}", file=sys.stderr)
    if fetched.shortfall:
        print(f"warning: {_shortfall(fetched.shortfall)}", file=sys.stderr)


def _failed(fetched) -> int:
    """1 when a source failed: the issue is built from the others, and the exit code says so."""
    return 1 if fetched is not None and fetched.failed else 0


def _shortfall(shortfall) -> str:
    if shortfall.never_fetched:  # an estimate, and said to be one
        return (f"the sources that failed ({', '.join(shortfall.sources)}) would carry about {shortfall.share:.0%} of "
                f"the week's items, more than sources.max_failed_share ({shortfall.limit:.0%}); "
                f"{', '.join(shortfall.never_fetched)} never answered yet, so each is counted as an average source")
    return (f"the sources that failed ({', '.join(shortfall.sources)}) carried {shortfall.share:.0%} of the last "
            f"week's items, more than sources.max_failed_share ({shortfall.limit:.0%})")


def _fetch(args) -> int:
    from composer.sources import Outcome, fetch

    settings = _settings(args)
    if not settings.sources.fetch:
        raise WeeklyError("no sources to fetch: list them in sources.fetch (config/weekly.toml; README: Sources)")
    fetched = fetch(settings, args.today or date.today(), since=args.since)
    _print_fetch_problems(fetched)
    for outcome in fetched.outcomes:
        if outcome.outcome is Outcome.FAILED:
            continue
        how = {Outcome.NOT_MODIFIED: "not modified", Outcome.KEPT: "copy kept"}.get(outcome.outcome, "fetched")
        answers = f"{outcome.requests} request{'s' if outcome.requests > 1 else ''}, " + (
            f"{outcome.not_modified} not modified (304)" if outcome.not_modified else f"{outcome.size / 1024:,.0f} KB")
        print(f"{outcome.name}: {how}, {outcome.items} items ({outcome.week_items} of the last week); {answers}"
              f" -> {outcome.path}")
    if fetched.shortfall:
        print("error: `weekly run --send` would send nothing", file=sys.stderr)
    return 1 if fetched.failed else 0


def _command(commands, name: str, handler, summary: str, example: str) -> argparse.ArgumentParser:
    sub = commands.add_parser(
        name, help=summary, description=summary[0].upper() + summary[1:] + ".",
        epilog=f"example:\n  {example}", formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub.set_defaults(command=handler)
    return sub


def _port(given: str) -> int:
    """A TCP port for argparse: a wrong one is a usage error (exit 2), as any other bad option is."""
    try:
        port = int(given)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a port number: {given!r}") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"must be between 0 and 65535, not {port}")
    return port


def _settings(args):
    from composer.config import load_settings

    return load_settings(args.config, args.env_file, args.secrets_dir)


def _report(problems) -> int:
    """Print each problem on its own line; 1 if any is an error."""
    for problem in problems:
        print(f"{problem.level}: {problem}", file=sys.stderr)
    return 1 if any(problem.level == "error" for problem in problems) else 0


def _items(args) -> int:
    from composer.ingest import load_items

    settings = _settings(args)
    paths, _ = _inputs(args.paths, settings, date.today(), online=False)
    ingested = load_items(paths, settings.ingest.max_file_mb)
    if args.json:
        records = [item.model_dump(mode="json") for item in (*ingested.items, *ingested.past_issues)]
        json.dump(records, sys.stdout, ensure_ascii=False, indent=2)
        print()
    else:
        _print_items_table(ingested, _seen(ingested.items, settings))
    return _report(ingested.problems)


def _seen(items, settings) -> dict:
    """What the store knows of each item (its source, when first seen), when there is a store to ask."""
    from composer.store import StoreError, is_postgres, open_store, sqlite_path

    if not items or (not is_postgres(settings.store.url) and not sqlite_path(settings.store.url).is_file()):
        return {}
    try:
        with open_store(settings.store, settings.list.id, settings.output.dir) as store:
            return store.items.seen(item.id for item in items)
    except StoreError as err:
        print(f"warning: {err}; items shown without when they were first seen", file=sys.stderr)
        return {}


def _print_items_table(ingested, seen: dict) -> None:
    from datetime import UTC, datetime

    from rich.console import Console
    from rich.table import Table

    console = Console()
    if not console.is_terminal and not os.environ.get("COLUMNS"):  # a pipe: rich's 80 columns are too few
        console = Console(width=150)
    tagged = any(item.tags for item in ingested.items)
    wide = console.width >= 110  # a narrow terminal keeps the title readable; --json has every field
    table = Table(title=f"{len(ingested.items)} items", expand=True)
    table.add_column("#", justify="right", no_wrap=True)
    table.add_column("source", no_wrap=True, max_width=20 if wide else 14, overflow="ellipsis")
    if wide:
        table.add_column("seen", no_wrap=True)
        table.add_column("line", justify="right", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    table.add_column("title", ratio=3, no_wrap=True, overflow="ellipsis", min_width=16)  # one line an item
    table.add_column("¶", justify="right", no_wrap=True)
    if tagged:
        table.add_column("tags", ratio=1, no_wrap=True, overflow="ellipsis")
    dated = sorted(item.published for item in ingested.items if item.published)
    for number, item in enumerate(ingested.items, 1):
        title = item.title or f"[dim](untitled) {item.paragraphs[0][:70]}…[/dim]"
        line = str(item.line or "")
        known = seen.get(item.id)
        first = f"{datetime.fromtimestamp(known.first_seen, UTC):%Y-%m-%d %H:%M}" if known else ""
        table.add_row(str(number), known.source if known else Path(item.source).name, *([first, line] if wide else []),
                      item.kind, title, str(len(item.paragraphs)), *([", ".join(item.tags)] if tagged else []))
    console.print(table)
    undated = len(ingested.items) - len(dated)
    if dated:
        console.print(f"dates: {len(dated)} dated, from {dated[0].day} {dated[0]:%B %Y} to {dated[-1].day} {dated[-1]:%B %Y}; "
                      f"{undated} undated")
    elif ingested.items:
        console.print(f"dates: all {undated} items are undated")
    for issue in ingested.past_issues:
        console.print(
            f"past issue [bold]DW Weekly #{issue.number}[/bold] – {issue.headline} ({issue.date_range or 'no date'}): "
            f"{len(issue.editorial)} editorial paragraphs, {len(issue.radar)} Radar, "
            f"{len(issue.reading_corner)} Reading Corner, {len(issue.events)} events"
        )


def _compose(args) -> int:
    from composer.issues import DRAFT
    from composer.pipeline import compose_to_file

    settings = _settings(args)
    paths, options, today, fetched = _compose_args(args, settings)
    composed = compose_to_file(paths, args.out or settings.output.dir / DRAFT, settings, options, today)
    return max(_summary(composed), _failed(fetched))


def _why(args) -> int:
    from composer.pipeline import compose

    settings = _settings(args)
    paths, options, today, _ = _compose_args(args, settings)
    composed = compose(paths, settings, options, today)
    needle = args.item.lower()
    explanations = composed.selection.explanations if composed.selection else ()
    found = [explained for explained in explanations
             if explained.item_id.startswith(needle) or needle in explained.title.lower()]
    if not found:
        raise WeeklyError(f"no item of {', '.join(map(str, paths))} has an id starting with or a title containing "
                          f"{args.item!r}; `weekly items` lists them")
    for explained in found:
        _print_explanation(explained)
    return 0


def _print_explanation(explained) -> None:
    print(f"{explained.item_id[:8]}  {explained.title}")
    print(f"  outcome: {explained.outcome}")
    if explained.relevance is not None:
        print(f"  relevance: {explained.relevance} (digital: {', '.join(explained.digital_cues) or 'none'}; "
              f"policy: {', '.join(explained.policy_cues) or 'none'})")
    if explained.basket:
        hits = ", ".join(f"{name} {hits}" for name, hits in sorted(explained.basket_hits.items(), key=lambda x: -x[1]) if hits)
        print(f"  basket: {explained.basket} ({hits or 'no cues: the default basket'})"
              + (f"; technologies: {', '.join(explained.technologies)}" if explained.technologies else ""))
    if explained.parts:
        parts = explained.parts
        gains = " + ".join(f"{name} {parts[name]:.3f}" for name in ("centrality", "sources", "recency", "length", "beat",
                                                                      "action"))
        losses = " - ".join(f"{name.replace('_', ' ')} {parts[name]:.3f}" for name in ("undated", "stale", "not_news"))
        print(f"  score {parts['total']:.3f} = {gains} - {losses}")
    for sign in explained.signs:
        print(f"  sign: {sign}")


def _render(args) -> int:
    from composer.pipeline import render_file

    settings = _settings(args)
    rendered = render_file(args.draft, args.out, settings, replace=args.replace)
    if rendered.backup:
        print(f"the editor's draft that was there is kept as {rendered.backup}", file=sys.stderr)
    if rendered.sent:
        print(f"note: the issue of {args.draft} was sent: this copy is not it (the store keeps the one sent)",
              file=sys.stderr)
    elif rendered.copy_of is not None:
        print(f"note: this copy is not the issue: approve and send use the issue's folder, {rendered.copy_of}",
              file=sys.stderr)
    for path in rendered.written:
        print(f"  {path}")
    return 0


def _build(args) -> int:
    from composer.pipeline import build

    settings = _settings(args)
    paths, options, today, fetched = _compose_args(args, settings)
    return max(_summary(build(paths, args.out, settings, options, today)), _failed(fetched))


def _summary(composed) -> int:
    status = _report(composed.problems)
    for note in composed.notes:
        print(f"note: {note}", file=sys.stderr)
    draft = composed.draft
    sections = draft.sections
    if composed.kept:
        print(f"DW Weekly #{draft.number} ({draft.date_range}): kept as the editor left it ({composed.kept}); "
              f"{len(sections.radar)} Radar, {len(sections.reading_corner)} Reading Corner, {len(sections.events)} events")
        return status
    how = "rebuilt in place from" if composed.rebuilt else "from"
    print(f"DW Weekly #{draft.number} ({draft.date_range}) {how} {composed.item_count} items: "
          f"{len(sections.radar)} Radar, {len(sections.reading_corner)} Reading Corner, {len(sections.events)} events")
    parts = [f"{composed.undated} undated (taken as this week's)" if composed.undated else "",
             f"{composed.outside_week} dated outside {draft.date_range} (left out)" if composed.outside_week else ""]
    if any(parts):
        print(f"note: of {composed.item_count} items, " + " and ".join(filter(None, parts)), file=sys.stderr)
    if composed.backup:
        print(f"note: the editor's draft was kept as {composed.backup}", file=sys.stderr)
    for path in composed.written:
        print(f"  {path}")
    return status


def _check(args) -> int:
    from composer.issues import IssueFolder
    from composer.pipeline import gate

    problems = gate(IssueFolder(args.folder), _settings(args))
    for problem in problems:
        print(problem if problem.level == "error" else f"warning: {problem}", file=sys.stderr)
    errors = sum(problem.level == "error" for problem in problems)
    if errors:
        print(f"error: {errors} problem(s); fix them before sending", file=sys.stderr)
        return 1
    print(f"{args.folder}: ready to send")
    return 0


def _approve(args) -> int:
    import getpass

    from composer.pipeline import approve

    approved = approve(args.number, _settings(args), args.by or getpass.getuser())
    for problem in approved.warnings:
        print(f"warning: {problem}", file=sys.stderr)
    for path in approved.rendered:
        print(f"  {path}")
    print(f"#{approved.number} approved by {approved.by}: `weekly run --send` sends {approved.folder} as it is now "
          "(an edit after this needs a new approval)")
    return 0


def _issues(args) -> int:
    from composer.pipeline import overview

    views = overview(_settings(args))
    if not views:
        print("no issues yet: `weekly build` makes the first", file=sys.stderr)
        return 0
    print(f"{'issue':>6}  {'week':<25} {'state':<9} {'edited':<6}  ledger")
    for view in views:
        week = f"{view.week_start:%d %b} – {view.week_end:%d %b %Y}" if view.week_start and view.week_end else "?"
        counts = ", ".join(f"{state.value} {count}" for state, count in view.counts.items() if count) or "-"
        extra = f" (by {view.approved_by})" if view.approved_by else f" ({view.reason})" if view.reason else ""
        print(f"{view.number:>6}  {week:<25} {view.state.value:<9} {'yes' if view.edited else 'no':<6}  {counts}{extra}")
    return 0


def _preview(args) -> int:
    from composer import preview

    if not 0 <= args.port <= 65535:
        raise WeeklyError(f"--port must be between 0 and 65535 (0 picks a free one), not {args.port}")
    settings = _settings(args)
    source = args.source or _newest_issue(settings.output.dir)
    if args.png:
        for path in preview.screenshots(source, args.png, settings, dark=args.dark):
            print(f"  {path}")
        return 0
    with preview.preview_server(source, args.port, settings) as server:
        print(f"preview of {source} on http://127.0.0.1:{server.server_address[1]}/ (Ctrl-C stops)", flush=True)
        server.serve_forever()
    return 0


def _newest_issue(root: Path) -> Path:
    from composer.issues import Archive

    latest = Archive(root).latest()
    if latest is None:
        raise WeeklyError(f"{root}: no issue built yet; run `weekly build` or name a draft")
    return latest.draft_path


def _send(args) -> int:
    from composer.deliver.send import SendOptions
    from composer.issues import IssueFolder
    from composer.pipeline import send_checked

    if args.limit is not None and args.limit < 1:
        raise WeeklyError(f"--limit must be 1 or more, not {args.limit}")
    settings = _settings(args)
    options = SendOptions(list_file=args.list_file or (None if args.to else settings.list.subscribers), to=args.to,
                          columns=dict(_column(given) for given in args.column),
                          dry_run=args.dry_run, limit=args.limit, test_to=args.test_to, retry_failed=args.retry_failed,
                          retry_unknown=args.retry_unknown)
    if args.retry_unknown:
        print("warning: --retry-unknown sends again to recipients whose outcome is unknown; those whose first "
              "copy did arrive will get a second one", file=sys.stderr)
    resume = _resume_command(args)
    with _resumable(resume), _Progress() as progress:
        sent = send_checked(IssueFolder(args.folder), settings, options, _confirmer(args.yes or args.dry_run),
                            progress, force=args.force)
    verb = "would be sent" if args.dry_run else "sent"
    for problem in sent.overridden:
        print(f"warning: {verb} despite {problem} (--force)", file=sys.stderr)
    return _send_summary(args.folder, sent.report, options, resume=resume)


def _send_summary(folder: Path | None, report, options, resume: str) -> int:
    from composer.models import RecipientState as State

    for row in (*report.warnings, *report.invalid_rows):
        print(f"warning: {row}", file=sys.stderr)
    if report.plan and report.plan.invalid > len(report.invalid_rows):
        print(f"warning: … and {report.plan.invalid - len(report.invalid_rows)} more invalid rows", file=sys.stderr)
    if report.recovered_unknown:
        print(f"warning: {report.recovered_unknown} recipient(s) were being sent to when a run stopped; their outcome "
              f"is unknown and they will not be resent (see `weekly status {folder}`)", file=sys.stderr)
    plan = report.plan
    if options.dry_run:
        print(f"dry run: would send {plan.to_send} message(s) of {plan.subject!r} via {plan.server}; nothing sent")
        for what, counts in (("the ledger holds", report.counts), ("the send would add", plan.adds)):
            if any(counts.values()):
                print(f"  {what}: " + ", ".join(f"{state} {count}" for state, count in counts.items() if count))
        return 0
    if report.cancelled:
        print("not sent")
        return 1
    counts = report.counts
    if counts:
        print(f"sent {report.sent_now} now; ledger: " + ", ".join(f"{state} {count}" for state, count in counts.items()))
    else:
        print(f"sent {report.sent_now} test copy")
    if report.stopped:
        print(f"error: {report.stopped}. Resume with: {resume}", file=sys.stderr)
        return 130 if report.interrupted else 1
    status = 0
    pending = counts.get(State.PENDING, 0)
    if pending and options.limit is None:
        print(f"error: {pending} recipient(s) still pending (the server deferred them with 4xx replies); "
              f"resume later with: {resume}", file=sys.stderr)
        status = 1
    failed, unknown = counts.get(State.FAILED, 0), counts.get(State.UNKNOWN, 0)
    if failed or unknown:
        print(f"error: {failed} failed, {unknown} unknown; see `weekly status {folder}`",
              file=sys.stderr)
        status = 1
    return status


def _confirmer(yes: bool):
    def confirm(plan) -> bool:
        already = ", ".join(f"{state} {count}" for state, count in plan.already.items())
        print(f"About to send {plan.to_send} message(s) of {plan.subject!r}\n  via {plan.server}"
              + (f"\n  already in the ledger: {already}" if already else "")
              + (f"\n  invalid rows skipped: {plan.invalid}" if plan.invalid else ""), flush=True)
        if yes:
            return True
        if not sys.stdin.isatty():
            raise WeeklyError("not asking on a non-interactive input: add --yes to send")
        return input("Send? [y/N] ").strip().lower() in ("y", "yes")
    return confirm


def _resume_command(args) -> str:
    words = ["weekly", "send", str(args.folder)]
    if args.test_to:  # the test copy again, never a send to the whole list
        return shlex.join([*words, "--test-to", args.test_to, "--yes"])
    if args.list_file:
        words += ["--list", str(args.list_file)]
    for given in args.column:
        words += ["--column", given]
    if args.to:
        words += ["--to", args.to]
    return shlex.join([*words, "--yes"])


class _Progress:
    """A rich progress bar with rate and ETA on a terminal; a plain line every 10 % otherwise. The bar
    starts with the first message sent, never before: the question asked before the send needs the
    terminal to itself."""

    def __enter__(self):
        self.bar = None
        self.task = None
        self.last_decile = -1
        self.started: float | None = None  # the first settled message, not the start of list loading
        return self.update

    def update(self, done: int, total: int) -> None:
        now = time.monotonic()
        self.started = self.started or now
        elapsed = max(now - self.started, 1e-3)
        rate = f"{done / elapsed:.0f}"
        if sys.stderr.isatty():
            if self.bar is None:
                self.bar = self._bar()
                self.task = self.bar.add_task("send", total=total, rate=rate)
            self.bar.update(self.task, completed=done, rate=rate)
            return
        decile = done * 10 // max(total, 1)
        if decile != self.last_decile:
            self.last_decile = decile
            print(f"sent {done}/{total} ({rate} msg/s)", file=sys.stderr, flush=True)

    @staticmethod
    def _bar():
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        bar = Progress(TextColumn("sending"), BarColumn(), MofNCompleteColumn(), TextColumn("{task.fields[rate]} msg/s"),
                       TimeRemainingColumn(), console=Console(stderr=True))
        bar.start()
        return bar

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.stop()


def _status(args) -> int:
    from composer.commands.readers import status

    found = status(args.folder, _settings(args))
    print(f"DW Weekly #{found.number}: " + ", ".join(f"{state.value} {count}" for state, count in found.counts.items()))
    for address, state, reply in found.problems:
        print(f"  {state.value:8} {address}  {reply}")
    return 0


def _unsubscribe(args) -> int:
    from composer.commands.readers import unsubscribe

    done = unsubscribe(args.token, _settings(args))
    if done.email is None:
        print("the reader of this link was erased on request: never mailed again, and nothing is kept about them")
    else:
        print(f"{done.email} unsubscribed from {done.list_id}" if done.new else f"{done.email} was already unsubscribed")
    return 0


def _run(args) -> int:
    from composer.deliver.send import SendOptions
    from composer.pipeline import run_for_cron

    settings = _settings(args)
    paths, options, today, fetched = _compose_args(args, settings)
    retry = SendOptions(retry_failed=args.retry_failed, retry_unknown=args.retry_unknown)
    withhold = None
    if fetched is not None and fetched.shortfall is not None:
        withhold = (f"{_shortfall(fetched.shortfall)}: fix them and run again, or send from the copies kept "
                    "before with `weekly run --send --offline`")
    with _resumable("the same `weekly run --send` command: it sends this week's issue to those still pending"):
        outcome = run_for_cron(paths, settings, options, today, send=args.send, retry=retry, withhold=withhold)
    status = _failed(fetched)
    resume = f"weekly run --send {' '.join(map(str, args.paths))}".rstrip()
    if outcome.resumed_report is not None:
        print(f"finished #{outcome.resumed}, left part-way before:")
        status = _send_summary(outcome.folder, outcome.resumed_report, retry, resume)
    if outcome.composed is not None:
        status = max(status, _summary(outcome.composed))
    if outcome.report is not None:
        status = max(status, _send_summary(outcome.folder, outcome.report, retry, resume))
    return status


def _serve(args) -> int:
    from composer.serve import create_app, serve

    settings = _settings(args)
    host, port = args.host or settings.serve.host, settings.serve.port if args.port is None else args.port
    app = create_app(settings)
    serve(app, host, port, settings,
          lambda url: print(f"serving unsubscribe and the archive on {url} (Ctrl-C stops)", flush=True))
    return 0


def _bounces(args) -> int:
    from composer.commands.readers import bounces
    from composer.deliver.bounces import APPLIED, KINDS

    def told(outcome) -> None:  # each as it comes: a mailbox of 100,000 reports is never held in memory
        if outcome.kind in APPLIED:
            print(f"{outcome.kind:12} {outcome.address}  {outcome.detail}")
        else:
            level = "warning" if outcome.kind == "unreadable" else "note"
            print(f"{level}: {outcome.kind}: {outcome.address or ''} {outcome.detail}".replace("  ", " "),
                  file=sys.stderr)

    report = bounces(args.source, _settings(args), told)
    print(", ".join(f"{report.count(kind)} {kind}" for kind in KINDS)
          + (f"; {report.read_before} read before, skipped" if report.read_before else ""))
    return 0


def _subscribers(args) -> int:
    from composer.commands import subscribers
    from composer.models import SubscriberStatus as Status

    settings = _settings(args)
    if args.action == "import":
        columns = dict(_column(given) for given in args.column)
        return _imported(args.file, subscribers.import_file(args.file, columns, settings))
    if args.action == "list":
        readers, counts = subscribers.listing(settings, Status(args.status) if args.status else None)
        for reader in readers:
            name = f"  {reader.name}" if reader.name else ""
            print(f"{_day(reader.since)}  {reader.status.value:<12}  {reader.address}{name}  ({reader.source})")
        print(", ".join(f"{count} {status.value}" for status, count in counts.items()), file=sys.stderr)
        return 0
    if args.action in ("add", "remove"):
        reader = subscribers.add(args.address, args.name, settings) if args.action == "add" \
            else subscribers.remove(args.address, settings)
        print(f"{reader.address}: {reader.status.value} (since {_day(reader.since)})")
        return 0
    if args.action == "export":
        return _export_subscribers(args, settings)
    if not args.yes:
        if not sys.stdin.isatty():
            raise WeeklyError("not asking on a non-interactive input: add --yes to erase")
        if input(f"Erase everything held about {args.address}? [y/N] ").strip().lower() not in ("y", "yes"):
            print("nothing erased")
            return 1
    deleted = subscribers.erase(args.address, settings)
    print(f"{args.address} erased: " + ", ".join(f"{count} row(s) of {table}" for table, count in deleted.items())
          + "; a keyed hash in the suppression list keeps it from ever being mailed again")
    return 0


def _column_given(given: str) -> str:
    """--column FIELD=NAME for argparse: a FIELD weekly does not know is a usage error (exit 2)."""
    from composer.deliver.subscribers import FIELDS

    field, _, name = given.partition("=")
    if field not in FIELDS or not name:
        raise argparse.ArgumentTypeError(f"{given!r}: say FIELD=COLUMN, FIELD one of {', '.join(FIELDS)}")
    return given


def _column(given: str) -> tuple[str, str]:
    field, _, name = given.partition("=")
    return field, name


def _imported(path: Path, done) -> int:
    for problem in done.problems:
        print(f"{problem.level}: {problem}", file=sys.stderr)
    if done.invalid > len(done.problems):
        print(f"error: … and {done.invalid - len(done.problems)} more bad lines", file=sys.stderr)
    columns = ", ".join(f"{field}={name!r}" for field, name in done.columns.items())
    kind = {"CSV": "a CSV list", "weekly": "weekly's own export"}.get(done.kind, f"a {done.kind} export")
    print(f"{path}: {kind} (columns: {columns})")
    words = {"added": "added", "updated": "updated", "unchanged": "already so", "kept": "kept as they are here (not "
             "subscribed again by an import)"}
    for outcome, word in words.items():
        counts = done.outcomes.get(outcome)
        if counts:
            print(f"  {word}: " + ", ".join(f"{count} {status.value}" for status, count in counts.items()))
    if done.unconfirmed:
        print(f"  left out: {done.unconfirmed} never confirmed their address (no consent to mail them)")
    if done.erased:
        print(f"  left out: {done.erased} erased here on request")
    if done.invalid:
        print(f"  left out: {done.invalid} bad line(s)")
    return 1 if done.invalid else 0


def _export_subscribers(args, settings) -> int:
    from composer.commands import subscribers

    if args.address:
        text = json.dumps(subscribers.export_person(args.address, settings), indent=2, ensure_ascii=False) + "\n"
        if args.out:
            _write(args.out, text)
        else:
            sys.stdout.write(text)
        return 0
    if not args.out:
        count = subscribers.export_all(sys.stdout, settings)
    else:
        try:
            with args.out.open("w", newline="", encoding="utf-8") as handle:
                count = subscribers.export_all(handle, settings)
        except OSError as err:
            raise WeeklyError(f"{args.out}: cannot write: {err.strerror or err}") from err
    print(f"{count} reader(s) exported" + (f" to {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise WeeklyError(f"{path}: cannot write: {err.strerror or err}") from err


def _day(stamp: float) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%d")


def _suppressed(args) -> int:
    from datetime import UTC, datetime

    from composer.commands import readers

    settings = _settings(args)
    if args.add or args.remove:
        reason = f"manual: {args.reason}" if args.reason != "manual" else "manual"
        done = readers.suppress(args.add, reason, settings) if args.add else \
            readers.unsuppress(args.remove, settings, force=args.force)
        if done.warning:
            print(f"warning: {done.warning}", file=sys.stderr)
        verb = "suppressed" if args.add else "no longer suppressed"
        print(f"{done.address} {verb}" if done.changed else f"{done.address} was already {verb}")
        return 0
    if args.export:
        count = readers.export_suppressions(args.export, settings)
        print(f"{count} suppressed addresses written to {args.export}")
        return 0
    rows = readers.suppressions(settings)
    for row in rows:
        print(f"{datetime.fromtimestamp(row.added, UTC):%Y-%m-%d}  {row.email}  {row.reason}")
    print(f"{len(rows)} suppressed", file=sys.stderr)
    return 0


def _config(args) -> int:
    values = _settings(args).model_dump(mode="json")
    # TOML: the top-level keys first, or they would read as keys of the last [section]
    for name, value in values.items():
        if not isinstance(value, dict):
            print(_toml_line(name, value))
    for name, value in values.items():
        if isinstance(value, dict):
            print(f"\n[{name}]")
            for key, inner in value.items():
                print(_toml_line(key, inner))
    return 0


def _toml_line(key: str, value) -> str:
    return f"# {key} = (not set)" if value is None else f"{key} = {json.dumps(value, ensure_ascii=False)}"
