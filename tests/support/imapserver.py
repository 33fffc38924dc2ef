"""A real IMAP server for tests: Debian's dovecot (dovecot-imapd) started on 127.0.0.1 with a throwaway config.

    from tests.support.imapserver import imap_server  # noqa: F401 (a fixture)

    def test_x(imap_server):
        imap_server.deliver(b"Subject: hi\\r\\n\\r\\nbody\\r\\n")   # APPEND into the user's INBOX
        ... AGGREGATOR_MAILIN__HOST=127.0.0.1, PORT=imap_server.port, SECURITY=none, USERNAME/PASSWORD ...

The fixture skips, saying why, where dovecot is not installed (apt-get install dovecot-imapd; .ci/run
installs it) or cannot start. As root, mail is stored as the `dovecot` user (dovecot refuses uid 0).
"""

from __future__ import annotations

import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

DOVECOT = Path("/usr/sbin/dovecot")
USER, PASSWORD = "bounces", "test-password"
CONFIG = """\
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/mail/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
}}
{unprivileged}
"""


@dataclass
class ImapServer:
    port: int
    user: str = USER
    password: str = PASSWORD

    def connect(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        imap.login(self.user, self.password)
        imap.select("INBOX")
        return imap

    def deliver(self, raw: bytes) -> None:
        imap = self.connect()
        try:
            status, data = imap.append("INBOX", None, None, raw)
            assert status == "OK", data
        finally:
            imap.logout()

    def mark_all_unread(self) -> None:
        """As if the mailbox had lost its flags: every message is read again."""
        imap = self.connect()
        try:
            imap.store("1:*", "-FLAGS", "(\\Seen)")
        finally:
            imap.logout()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _owner() -> tuple[int, int, str]:
    """uid, gid and the extra settings dovecot needs for the user it stores mail as."""
    if os.getuid() == 0:
        try:
            entry = pwd.getpwnam("dovecot")
        except KeyError:
            pytest.skip("dovecot is installed without its `dovecot` user; reinstall dovecot-core")
        return entry.pw_uid, entry.pw_gid, ""
    name = pwd.getpwuid(os.getuid()).pw_name  # unprivileged: every dovecot process runs as this user
    return os.getuid(), os.getgid(), f"default_login_user = {name}\ndefault_internal_user = {name}\n"


@pytest.fixture
def imap_server() -> Iterator[ImapServer]:
    if not DOVECOT.exists():
        pytest.skip(
            "Debian's dovecot is not installed at /usr/sbin/dovecot (apt-get install dovecot-imapd; "
            ".ci/run installs it)"
        )
    # not under pytest's tmp_path: its folders are private to us, and dovecot's own user must reach this one
    root = Path(tempfile.mkdtemp(prefix="aggregator-imap-"))
    root.chmod(0o755)
    try:
        yield from _serve(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _serve(root: Path) -> Iterator[ImapServer]:
    uid, gid, unprivileged = _owner()
    port = _free_port()
    for folder in ("run", "state", "mail"):
        (root / folder).mkdir()
    (root / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    (root / "dovecot.conf").write_text(CONFIG.format(root=root, uid=uid, gid=gid, port=port, unprivileged=unprivileged))
    if os.getuid() == 0:
        shutil.chown(root / "mail", uid, gid)
    # dovecot forks into the background: its output goes to a file, or waiting for a pipe would never end
    with open(root / "start.log", "w") as output:
        started = subprocess.run(
            [str(DOVECOT), "-c", str(root / "dovecot.conf")],
            stdout=output,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
    if started.returncode != 0:
        pytest.skip(f"dovecot did not start: {(root / 'start.log').read_text().strip()}")
    server = ImapServer(port)
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                server.connect().logout()
                break
            except OSError:
                if time.monotonic() > deadline:
                    log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                    pytest.skip(f"dovecot started but does not answer on 127.0.0.1:{port}: {log[-500:]}")
                time.sleep(0.1)
        yield server
    finally:
        subprocess.run(
            [str(DOVECOT), "-c", str(root / "dovecot.conf"), "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            timeout=30,
        )
