"""Sender ids (host:pid) and whether the process behind one is gone, so that a resume takes its leases at once."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterable
from pathlib import Path


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def dead_local_senders(owners: Iterable[str], host: str | None = None) -> set[str]:
    """The worker-id prefixes ("host:pid/") among lease `owners` ("host:pid/n") whose process was on this host
    and no longer runs. Any other owner (another host, a chosen name) keeps its lease until it expires."""
    host = host or socket.gethostname()
    dead = set()
    for owner in owners:
        sender = owner.rpartition("/")[0] or owner
        owner_host, _, pid = sender.rpartition(":")
        if owner_host == host and pid.isdigit() and not is_running(int(pid)):
            dead.add(f"{sender}/")
    return dead


def is_running(pid: int) -> bool:
    """Whether process `pid` exists on this host and is not a zombie (killed, waiting to be reaped)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    try:  # Linux: a killed process its parent has not reaped yet still answers kill(0)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rpartition(")")[2].split()[:1] != ["Z"]
