"""The message as readers' providers get it: DKIM-signed per copy, the deliverability headers, and an
issue.eml that is exactly such a copy. Signatures are verified by dkimpy with a DNS stub (no network)."""

from __future__ import annotations

import re
import subprocess
from datetime import date
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import dkim
import pytest
from conftest import KEY, MAILTO, SEEDS, SENDER, write_list
from smtp_server import Server
from test_notices import plain_value, raw_headers

from composer.config import DkimSettings, Settings
from composer.deliver.dkim import Signer
from composer.deliver.message import LineTooLong, MessageTemplate, fit_line_length
from composer.deliver.send import SendOptions, send_issue
from composer.deliver.tokens import COPY, verify_id
from composer.errors import WeeklyError
from composer.issues import IssueFolder
from composer.pipeline import ComposeOptions, build
from composer.store import open_store


def _settings(tmp_path: Path, dkim_keys, server: Server | None = None, **extra) -> Settings:
    return Settings(
        smtp={"host": "127.0.0.1", "port": server.port if server else 25, "security": "none", "connections": 2,
              "sender": SENDER, **extra.pop("smtp", {})},
        list={"unsubscribe_mailto": MAILTO, **extra.pop("list", {})}, dkim=dkim_keys.settings() if dkim_keys else {},
        signing_key=KEY, output={"dir": str(tmp_path / "out")}, **extra)


@pytest.fixture(scope="module")
def issue(tmp_path_factory, dkim_keys) -> Path:
    """The seeds' issue built by a deployment with its identity and both DKIM keys."""
    work = tmp_path_factory.mktemp("signed")
    folder = work / "out" / "210"
    build([SEEDS], folder, _settings(work, dkim_keys), ComposeOptions(), date(2026, 11, 22))
    return folder


@pytest.fixture(scope="module")
def received(issue, dkim_keys, tmp_path_factory) -> list[bytes]:
    """Five readers' copies as the test SMTP server received them."""
    work = tmp_path_factory.mktemp("send")
    with Server() as server:
        settings = _settings(work, dkim_keys, server)
        with open_store(settings.store, settings.list.id) as store:
            report = send_issue(IssueFolder(issue), store, settings.mail,
                                SendOptions(list_file=write_list(work / "list.csv", 5)), confirm=lambda plan: True)
    assert report.sent_now == 5
    return [raw for _, _, raw in server.recorder.messages]


def _signatures(raw: bytes, dkim_keys) -> list[bool]:
    """Each DKIM-Signature of `raw`, verified by dkimpy against the published test keys."""
    checker = dkim.DKIM(raw)
    count = len(re.findall(rb"^DKIM-Signature:", raw, re.MULTILINE | re.IGNORECASE))
    return [_verified(checker, index, dkim_keys) for index in range(count)]


def _verified(checker: dkim.DKIM, index: int, dkim_keys) -> bool:
    try:
        return checker.verify(idx=index, dnsfunc=dkim_keys.dns)
    except dkim.ValidationError:  # a body hash mismatch is raised, not returned
        return False


def test_every_received_copy_verifies_with_both_keys(received, dkim_keys):
    """rsa-sha256 and ed25519-sha256 signatures on each copy, each verified by dkimpy (DNS stub)."""
    for raw in received:
        assert _signatures(raw, dkim_keys) == [True, True]
        assert dkim.verify(raw, dnsfunc=dkim_keys.dns)
        algorithms = re.findall(rb"a=([\w-]+);", raw.split(b"\r\n\r\n", 1)[0])
        assert algorithms == [b"rsa-sha256", b"ed25519-sha256"]


def test_the_signature_covers_the_one_click_headers_of_each_reader(received, dkim_keys):
    """h= names List-Unsubscribe and List-Unsubscribe-Post (RFC 8058), and each copy's own token is signed:
    signing happens after the per-reader substitution."""
    urls = set()
    for raw in received:
        message = message_from_bytes(raw, policy=default)
        tags = dict(re.findall(r"(\w+)=([^;]*)", " ".join(message["DKIM-Signature"].split())))
        signed = [name.strip() for name in tags["h"].split(":")]
        assert {"list-unsubscribe", "list-unsubscribe-post", "from", "to", "subject", "feedback-id"} <= set(signed)
        assert signed.count("list-unsubscribe") == 2  # oversigned: a second one cannot be added
        urls.add(message["List-Unsubscribe"])
    assert len(urls) == len(received)


@pytest.mark.parametrize(("change", "why"), [
    (lambda raw: raw.replace(b"token=", b"token=X", 1), "another reader's unsubscribe link"),
    (lambda raw: raw.replace(b"To: ", b"To: x", 1), "another recipient"),
    (lambda raw: raw.replace(b"\r\n\r\n", b"\r\nList-Unsubscribe: <https://evil.example/u>\r\n\r\n", 1),
     "a second List-Unsubscribe added on the way"),
    (lambda raw: raw.replace(b"Dear readers,", b"Dear winners,", 1), "a changed body"),
    (lambda raw: raw.replace(b"Subject: DW Weekly", b"Subject: FW: DW Weekly", 1), "a changed Subject"),
])
def test_tampering_breaks_both_signatures(received, dkim_keys, change, why):
    """Whatever changes what the reader sees or unsubscribes with, the signatures fail."""
    assert _signatures(change(received[0]), dkim_keys) == [False, False], why


def test_deliverability_headers(received):
    """Feedback-ID with the issue number, Precedence: bulk, no auto-replies, List-Id, one-click."""
    message = message_from_bytes(received[0], policy=default)
    assert message["Feedback-ID"] == "210:newsletter:dwweekly"
    assert message["Precedence"] == "bulk" and message["X-Auto-Response-Suppress"] == "OOF, AutoReply"
    assert message["List-Id"] == "DW Weekly <dw-weekly.dig.watch>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message["Reply-To"] is None and message["From"] == SENDER


def test_reply_to_and_feedback_id_parts_come_from_the_settings(issue, tmp_path, dkim_keys):
    """smtp.reply_to sets Reply-To (signed); list.feedback_id's parts make the Feedback-ID."""
    settings = _settings(tmp_path, dkim_keys, smtp={"reply_to": "DW Team <editors@dig.watch>"},
                         list={"unsubscribe_mailto": MAILTO, "feedback_id": ["w{issue}", "dw", "diplo"]})
    raw = MessageTemplate(IssueFolder(issue), settings.mail, 210).personalise("a@dig.watch", "A", "t", "1.x")
    message = message_from_bytes(raw, policy=default)
    assert message["Reply-To"] == "DW Team <editors@dig.watch>"
    assert message["Feedback-ID"] == "w210:dw:diplo"
    assert _signatures(raw, dkim_keys) == [True, True]
    assert _signatures(raw.replace(b"editors@dig.watch", b"phisher@dig.watch"), dkim_keys) == [False, False]
    unset = settings.model_copy(update={"list": settings.list.model_copy(update={"feedback_id": ()})})
    assert b"Feedback-ID" not in MessageTemplate(IssueFolder(issue), unset.mail, 210).personalise("a@x.org", "", None, "1")
    with pytest.raises(ValueError, match="sender id"):
        Settings(list={"feedback_id": ["a b", "c"]})


def test_issue_eml_is_the_copy_one_reader_gets(issue, received, dkim_keys):
    """issue.eml: the same headers in the same order as a received copy, 8bit parts, a real To, a genuine
    token of the list (naming no reader: the sender's copy is in no ledger), and signatures that verify."""
    def names(raw: bytes) -> list[str]:
        return list(message_from_bytes(raw, policy=default).keys())

    eml = (issue / "issue.eml").read_bytes()
    assert names(eml) == names(received[0])
    message = message_from_bytes(eml, policy=default)
    assert message["To"] == "newsletter@dig.watch"
    assert [part["Content-Transfer-Encoding"] for part in message.iter_parts()] == ["8bit", "8bit"]
    token = re.search(r"token=([\w.=-]+)>", message["List-Unsubscribe"])[1]
    assert verify_id(token, KEY.encode(), "dw-weekly.dig.watch", (COPY,)) == (COPY, "0")
    assert _signatures(eml, dkim_keys) == [True, True]
    copy = message_from_bytes(received[0], policy=default)
    text = message.get_body(("plain",)).get_content()
    assert re.sub(r"token=\S+", "", text) == re.sub(r"token=\S+", "", copy.get_body(("plain",)).get_content())


def test_without_keys_nothing_is_signed(issue, tmp_path):
    """No dkim.keys: no DKIM-Signature header (the gate warns about it instead)."""
    raw = MessageTemplate(IssueFolder(issue), _settings(tmp_path, None).mail, 210).personalise("a@x.org", "", "t", "1")
    assert b"DKIM-Signature" not in raw


def _openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


def test_key_formats_and_refusals(tmp_path, dkim_keys):
    """PKCS#1 and PKCS#8 RSA, Ed25519 in PEM or as dkimpy's base64 seed sign; a short RSA key, a public key
    or no key at all is refused naming the file."""
    pkcs1 = tmp_path / "pkcs1.pem"
    _openssl("genrsa", "-traditional", "-out", str(pkcs1), "2048")
    assert pkcs1.read_text().startswith("-----BEGIN RSA PRIVATE KEY-----")
    seed = tmp_path / "seed.key"
    seed.write_bytes(__import__("base64").b64encode(__import__("os").urandom(32)) + b"\n")
    for path, algorithm in ((pkcs1, "rsa-sha256"), (dkim_keys.rsa, "rsa-sha256"), (dkim_keys.ed25519, "ed25519-sha256"),
                            (seed, "ed25519-sha256")):
        assert Signer(DkimSettings(domain="dig.watch", keys=[{"selector": "s", "key_file": path}])).algorithms == [algorithm]
    short, public = tmp_path / "short.pem", tmp_path / "public.pem"
    _openssl("genrsa", "-out", str(short), "512")
    _openssl("pkey", "-in", str(dkim_keys.rsa), "-pubout", "-out", str(public))
    for path, reason in ((short, "a 512-bit RSA key is too short"), (public, "not an RSA or Ed25519 private key"),
                         (tmp_path / "none.pem", "cannot read the DKIM key")):
        with pytest.raises(WeeklyError, match=re.escape(f"{path}: {reason}")):
            Signer(DkimSettings(domain="dig.watch", keys=[{"selector": "s", "key_file": path}]))
    with pytest.raises(ValueError, match=r"dkim\.domain"):
        DkimSettings(keys=[{"selector": "s", "key_file": pkcs1}])


def test_list_headers_of_a_copy_are_plain_ascii_however_long(issue, tmp_path, dkim_keys):
    """A long unsubscribe mailbox and list id: List-Unsubscribe (both URIs), List-Id and the one-click header
    arrive as plain ASCII folded at whitespace, never RFC 2047-encoded, and still signed."""
    mailto = "newsletter-unsubscribe-requests@lists.digital-watch-observatory.dig.watch"
    list_id = "dw-weekly.newsletters.lists.digital-watch-observatory.geneva-internet-platform.dig.watch"
    with Server() as server:
        settings = _settings(tmp_path, dkim_keys, server, list={"unsubscribe_mailto": mailto, "id": list_id})
        with open_store(settings.store, settings.list.id) as store:
            report = send_issue(IssueFolder(issue), store, settings.mail,
                                SendOptions(list_file=write_list(tmp_path / "list.csv", 1)), confirm=lambda plan: True)
    assert report.sent_now == 1
    (raw,) = [raw for _, _, raw in server.recorder.messages]
    headers = raw_headers(raw)
    unsubscribe = plain_value(headers["list-unsubscribe"])
    assert re.fullmatch(rf"<https://dig\.watch/newsletter/unsubscribe\?token=[^<>\s]+>, "
                        rf"<mailto:{re.escape(mailto)}\?subject=unsubscribe%20[^<>\s]+>", unsubscribe), unsubscribe
    assert plain_value(headers["list-id"]) == f"DW Weekly <{list_id}>"
    assert plain_value(headers["list-unsubscribe-post"]) == "List-Unsubscribe=One-Click"
    assert _signatures(raw, dkim_keys) == [True, True]


WORDS = " ".join(f"word{n}" for n in range(400))  # 3,089 bytes of text with a space every few bytes


@pytest.mark.parametrize(("html", "kept"), [
    (f"<div>{WORDS}</div>", None),
    (f'<td style="{WORDS}">x</td>', "LineTooLong"),  # spaces inside a value: none may break
    (f"<div>{'é' * 400}<a href='#x' title='{'t ' * 10}'>{WORDS}</a></div>", None),
    (f"<pre>{WORDS}</pre>", "LineTooLong"),
    (f"<div><!-- {WORDS} --></div>", "LineTooLong"),
    (f"<style>p {{ margin: 0 }} {'a ' * 600}</style>", "LineTooLong"),
])
def test_long_lines_break_only_where_a_break_means_a_space(html, kept):
    """A line over SMTP's limit breaks at spaces between words and between a tag's attributes, each line
    within 990 bytes, and reads the same; never inside an attribute value, <pre>, <style> or a comment."""
    if kept:
        with pytest.raises(LineTooLong):
            fit_line_length(html)
        return
    fitted = fit_line_length(html)
    assert all(len(line.encode()) <= 990 for line in fitted.splitlines())
    assert re.sub(r">\n<", "><", fitted).replace("\n", " ") == html  # a break between two tags adds one


def test_a_pre_opened_on_an_earlier_line_is_not_broken():
    """The raw-text state carries across lines: a long line inside a <pre> that began above is refused."""
    with pytest.raises(LineTooLong, match="cannot be broken safely"):
        fit_line_length(f"<div>short</div>\n<pre>first line\n{WORDS}\n</pre>")
    assert fit_line_length(f"<pre>a</pre>\n<p>{WORDS}</p>").count("\n") > 1
