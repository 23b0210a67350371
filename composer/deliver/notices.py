"""Mail outside an issue, to one reader: the confirmation of a sign-up and the welcome after it.

Sent as the issues are (the same SMTP settings and pool, DKIM-signed when keys are set), as plain text:
a link and two sentences need nothing more. Each carries List-Unsubscribe when it has a reader to name.
"""

from __future__ import annotations

import asyncio
import logging
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid, parseaddr

from composer.config import MailSettings
from composer.deliver.dkim import Signer
from composer.deliver.message import MAIL_POLICY, Wire, on_the_wire, one_line_name
from composer.deliver.smtp import Callbacks, Job, SendStopped, deliver
from composer.models import RecipientState as State

log = logging.getLogger("weekly.serve")


def send_notice(mail: MailSettings, address: str, name: str, subject: str, text: str,
                unsubscribe: str | None = None) -> bool:
    """Send one plain-text message to `address`; True once the server accepted it. With `unsubscribe` (a
    URL with a token), the one-click List-Unsubscribe headers too. Runs its own event loop: call it from a
    worker thread (a Starlette background task), never from a running loop."""
    message = EmailMessage(policy=MAIL_POLICY)  # List-Unsubscribe plain, as an issue copy's
    message["From"] = mail.smtp.sender
    message["To"] = formataddr((one_line_name(name), address))
    message["Subject"] = subject
    message["Date"] = formatdate(localtime=True)
    message["Message-ID"] = make_msgid(domain=parseaddr(mail.smtp.sender)[1].rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to it
    if mail.smtp.reply_to:
        message["Reply-To"] = mail.smtp.reply_to
    if unsubscribe:
        message["List-Unsubscribe"] = f"<{unsubscribe}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    raw = message.as_bytes()
    wire = on_the_wire(Signer(mail.dkim).sign(raw) if mail.dkim.keys else raw)
    outcome: dict[str, str] = {}

    async def claimed(job: Job) -> bool:
        return True  # no ledger: one message, sent once

    async def message_for(job: Job) -> Wire:
        return wire

    callbacks = Callbacks(sending=claimed, retrying=lambda job, reply: None,
                          done=lambda job, state, reply: outcome.update(state=state, reply=reply))
    password = mail.smtp.password.get_secret_value() if mail.smtp.password else None
    try:
        envelope = mail.bounces.address or parseaddr(mail.smtp.sender)[1]  # where a bounce of it goes
        asyncio.run(deliver([Job(None, address, name)], message_for, lambda job: envelope, mail.smtp, password,
                            callbacks))
    except SendStopped as stop:
        outcome.update(reply=str(stop))
    if outcome.get("state") != State.SENT:
        reply = outcome.get("reply", "no answer").replace(address, "<the reader>")  # logs never name a reader
        log.warning("%r not sent: %s", subject, reply)
        return False
    return True
