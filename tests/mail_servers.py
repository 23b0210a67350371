"""A real Postfix and a real Dovecot for the bounce tests, each a private instance in a temporary folder.

Postfix takes `weekly send`'s mail on 127.0.0.1, relays it to a server of the test (which refuses some
recipients, as a receiving MX would) and mails the bounces it writes to the return path into a Maildir
(every address at dig.watch is one mailbox, `bounces`). Dovecot serves that Maildir over IMAPS with a
certificate signed by a private CA, as an organisation's own mail server does. Debian's `postfix` and
`dovecot-imapd` packages provide the binaries (.ci/run installs them); both masters run as root, so these
tests need root (CI runs as root) and skip without it locally.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from smtp_server import free_port

MAILBOX_UID = 65534  # nobody: owns the Maildir, for Postfix's virtual delivery and Dovecot alike


def missing() -> str | None:
    """Why a real Postfix and Dovecot cannot run here, or None."""
    if os.geteuid() != 0:
        return "a private Postfix and Dovecot need root"
    absent = [name for name in ("postfix", "dovecot") if shutil.which(name, path="/usr/sbin:/usr/bin") is None]
    return f"not installed: {', '.join(absent)} (Debian's postfix and dovecot-imapd)" if absent else None


def private_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for 127.0.0.1 signed by it: (ca.pem, cert.pem, key.pem)."""
    ca, ca_key = folder / "ca.pem", folder / "ca-key.pem"
    cert, key, request = folder / "cert.pem", folder / "key.pem", folder / "cert.csr"

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(ca_key), "-out", str(ca), "-days", "1",
            "-subj", "/CN=weekly test CA")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(request), "-subj", "/CN=127.0.0.1")
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(request), "-CA", str(ca), "-CAkey", str(ca_key), "-CAcreateserial",
            "-out", str(cert), "-days", "1", "-extfile", str(extensions))
    return ca, cert, key


def _folder(prefix: str) -> Path:
    """A folder the servers' own users (postfix, nobody) can reach: not under pytest's private tmp_path."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(0o755)
    return folder


class Postfix:
    """Postfix on 127.0.0.1:`port`, relaying everything to 127.0.0.1:`relay_port`; bounces to `maildir`
    (under `mail_root`, the folder a Dovecot may serve)."""

    def __init__(self, relay_port: int) -> None:
        self.folder = _folder("weekly-postfix-")
        self.port = free_port()
        self.relay_port = relay_port
        self.config = self.folder / "conf"
        self.mail_root = self.folder / "mail"
        self.maildir = self.mail_root / "bounces"
        self.process: subprocess.Popen | None = None

    def __enter__(self) -> Postfix:
        for name in ("conf", "queue", "data", "mail"):
            (self.folder / name).mkdir(parents=True, exist_ok=True)
        for name in ("postfix-files", "dynamicmaps.cf"):
            shutil.copy(f"/etc/postfix/{name}", self.config / name)
        for name in ("postfix-files.d", "dynamicmaps.cf.d"):
            if Path(f"/etc/postfix/{name}").is_dir():
                shutil.copytree(f"/etc/postfix/{name}", self.config / name, dirs_exist_ok=True)
        os.chown(self.folder / "mail", MAILBOX_UID, MAILBOX_UID)
        shutil.chown(self.folder / "data", "postfix")
        (self.config / "main.cf").write_text(f"""compatibility_level = 3.6
queue_directory = {self.folder}/queue
data_directory = {self.folder}/data
meta_directory = {self.config}
maillog_file = /dev/stdout
myhostname = mail.dig.watch
mydomain = dig.watch
myorigin = dig.watch
mydestination =
inet_interfaces = loopback-only
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [127.0.0.1]:{self.relay_port}
smtp_tls_security_level = none
recipient_delimiter = +
virtual_mailbox_domains = dig.watch
virtual_mailbox_base = {self.folder}/mail
virtual_mailbox_maps = static:bounces/
virtual_uid_maps = static:{MAILBOX_UID}
virtual_gid_maps = static:{MAILBOX_UID}
alias_maps =
alias_database =
biff = no
""")
        master = Path("/etc/postfix/master.cf").read_text().splitlines()
        master = [f"127.0.0.1:{self.port} inet n - n - - smtpd" if line.startswith("smtp ") and " inet " in line
                  else line for line in master]
        (self.config / "master.cf").write_text("\n".join(master) + "\n")
        with (self.folder / "maillog").open("w") as log:  # maillog_file is the master's stdout
            self.process = subprocess.Popen(["postfix", "-c", str(self.config), "start-fg"], stdout=log,
                                            stderr=subprocess.STDOUT)
        _wait_for_port(self.port, self.process, self.folder / "maillog")
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["postfix", "-c", str(self.config), "stop"], capture_output=True, timeout=60, check=False)
        if self.process is not None:
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.folder, ignore_errors=True)

    def bounces(self, count: int, timeout: float = 60) -> list[Path]:
        """The first `count` messages delivered to the bounce Maildir (waiting for Postfix to write them)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = sorted((self.maildir / "new").glob("*")) if (self.maildir / "new").is_dir() else []
            if len(found) >= count:
                return found
            time.sleep(0.1)
        log = (self.folder / "maillog").read_text() if (self.folder / "maillog").exists() else ""
        raise AssertionError(f"Postfix delivered fewer than {count} bounces in {timeout} s:\n{log[-3000:]}")


class Dovecot:
    """Dovecot serving `mail_root`/USER as Maildir over IMAPS on 127.0.0.1:`port`, one user and password."""

    def __init__(self, mail_root: Path, user: str, password: str, cert: Path, key: Path) -> None:
        self.folder = folder = _folder("weekly-dovecot-")
        self.port = free_port()
        self.config = folder / "dovecot.conf"
        for source in (cert, key):  # readable where Dovecot looks, whatever the test's folder allows
            shutil.copy(source, folder / source.name)
        cert, key = folder / cert.name, folder / key.name
        (folder / "passwd").write_text(f"{user}:{{PLAIN}}{password}\n")
        self.config.write_text(f"""base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = required
ssl_cert = <{cert}
ssl_key = <{key}
disable_plaintext_auth = yes
first_valid_uid = 1
mail_location = maildir:{mail_root}/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/passwd
}}
userdb {{
  driver = static
  args = uid={MAILBOX_UID} gid={MAILBOX_UID} home={mail_root}/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    port = 0
  }}
  inet_listener imaps {{
    port = {self.port}
    ssl = yes
  }}
}}
service anvil {{
  chroot =
}}
""")

    def __enter__(self) -> Dovecot:
        # Dovecot goes into the background; its output goes to its log (a pipe would stay open behind it).
        subprocess.run(["dovecot", "-c", str(self.config)], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, timeout=60)
        _wait_for_port(self.port, None, self.folder / "dovecot.log")
        return self

    def __exit__(self, *exc) -> None:
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], capture_output=True, timeout=60, check=False)
        shutil.rmtree(self.folder, ignore_errors=True)


def _wait_for_port(port: int, process: subprocess.Popen | None, log: Path, timeout: float = 30) -> None:
    import socket

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            break
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}: {log.read_text()[-2000:] if log.exists() else 'no log'}")
