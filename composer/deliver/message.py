"""The MIME message of an issue: multipart/alternative, plain text first and HTML last (RFC 2046)."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import formatdate, make_msgid, parseaddr

from composer.errors import WeeklyError
from composer.models import RenderedIssue

PLACEHOLDER_TO = "Subscriber <subscriber@example.invalid>"


def build_message(rendered: RenderedIssue, sender: str, to: str = PLACEHOLDER_TO) -> EmailMessage:
    """A complete message from `sender` to `to`, with a fresh Message-ID on the sender's domain."""
    for name, value in (("From", sender), ("To", to), ("Subject", rendered.subject)):
        if "\r" in value or "\n" in value:
            raise WeeklyError(f"the {name} header may not contain a line break: {value!r}")
    domain = parseaddr(sender)[1].rpartition("@")[2]
    if not domain:
        raise WeeklyError(f"smtp.sender {sender!r} has no address with a domain")
    message = EmailMessage(policy=SMTP)
    message["From"] = sender
    message["To"] = to
    message["Subject"] = rendered.subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=domain)
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
