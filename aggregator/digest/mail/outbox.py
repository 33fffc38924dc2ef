"""The outbox folder as a Mailer: each message an .eml file, the embedded default when no SMTP host is set."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from aggregator.db.private import make_private_dir, open_private
from aggregator.digest.errors import TransportError


class OutboxSession:
    """Writes each message to its own .eml file, atomically (a killed process leaves no half file)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def send(self, sender: str, recipient: str, data: bytes) -> None:
        name = f"{time.time_ns()}-{uuid.uuid4().hex[:12]}"
        partial = self._folder / f".{name}.tmp"
        try:
            with os.fdopen(open_private(partial), "wb") as handle:  # it holds the subscriber's own links
                handle.write(data)
            os.replace(partial, self._folder / f"{name}.eml")
        except OSError as exc:
            raise TransportError(
                f"cannot write to the outbox {self._folder}: {exc}", hint="check that AGGREGATOR_DATA_DIR is writable"
            ) from None

    def close(self) -> None:
        pass


class OutboxTransport:
    """The embedded default: messages become .eml files in a folder (settings.outbox_dir / <month>)."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def open(self) -> OutboxSession:
        make_private_dir(self.folder)
        return OutboxSession(self.folder)
