"""The embedded broker (no ``REDIS_URL``): kombu's filesystem transport,
reading its folder once for many messages.

kombu's own transport lists and sorts the whole folder to take one message,
and again for every queue a worker polls (its remote-control queue too): with
a thousand messages waiting that is about 3.5 ms of a worker's CPU a message,
and it grows with the backlog.  This transport keeps each listing and takes
messages from it in order; it lists again when the queue asked for has none
left (at most once a polling interval), or once the listing is
``LISTING_MAX_AGE`` old, so quieter queues are still seen under a backlog.

Senders write each message under a temporary name and rename it into place,
so a reader never takes a file half written (kombu's transport can: it
creates the file, then writes it), and name it so that names sort in the
order messages were sent.  The folder, the file name pattern and the
options are kombu's (``data_folder_in``, ``data_folder_out``,
``control_folder``, ``polling_interval``, ``store_processed``,
``processed_folder``).  A message is taken by moving its file away, as kombu
does: when several workers read one folder, only one of them gets each message.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import uuid
from collections import defaultdict, deque
from queue import Empty

from kombu.exceptions import ChannelError
from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger("agentry.broker")

SCHEME = "agentry-filesystem"
LISTING_MAX_AGE = 0.5  # seconds; a listing older than this is read again even if names are left


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        """Write the message under a name no reader takes, then rename it into
        place: a reader never finds a file still being written (kombu's own
        ``_put`` leaves that window open, which a fast-polling reader hits)."""
        # Zero-padded nanoseconds, so names sort in the order they were sent
        # (kombu's carry unpadded milliseconds: ties, and a wrong order at each new digit).
        name = f"{time.monotonic_ns():020d}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        """The next message of ``queue``, from the last listing when it has one."""
        listing = self.connection.listing
        if not listing.waiting[queue]:
            listing.refresh(self.data_folder_in, min_age=self.connection.polling_interval or 0)
        names = listing.waiting[queue]
        while names:
            name = names.popleft()
            payload = self._take(name)
            if payload is None:
                continue
            try:
                return loads(bytes_to_str(payload))
            except ValueError:  # not a message (written by hand, a full disk): it must not stop the worker
                logger.error("Dropped broker file %s: its content is not a message", name)
        raise Empty()

    def _take(self, filename: str) -> bytes | None:
        """Move ``filename`` out of the folder and read it; ``None`` if another consumer took it first."""
        processed = self.processed_folder if self.store_processed else tempfile.gettempdir()
        try:
            shutil.move(os.path.join(self.data_folder_in, filename), processed)
        except OSError:
            return None
        path = os.path.join(processed, filename)
        try:
            with open(path, "rb") as file:
                payload = file.read()
            if not self.store_processed:
                os.remove(path)
        except OSError as exc:
            raise ChannelError(f"Cannot read file {path!r} from queue.") from exc
        return payload


class Listing:
    """The message files of one folder, by queue, oldest first, as last read."""

    def __init__(self):
        self.waiting: defaultdict[str, deque[str]] = defaultdict(deque)
        self.read_at = float("-inf")

    def refresh(self, folder: str, *, min_age: float) -> None:
        """Read the folder again, unless the listing is younger than ``min_age``
        or, while names are still waiting in it, than ``LISTING_MAX_AGE``."""
        age = time.monotonic() - self.read_at
        if age < min_age or (age < LISTING_MAX_AGE and any(self.waiting.values())):
            return
        waiting: defaultdict[str, deque[str]] = defaultdict(deque)
        for name in sorted(os.listdir(folder)):
            # "<ms>_<uuid>.<queue>.msg": queue names may hold dots, the uuid none.
            queue, _, suffix = name.partition(".")[2].rpartition(".")
            if suffix == "msg":
                waiting[queue].append(name)
        self.waiting, self.read_at = waiting, time.monotonic()


class Transport(filesystem.Transport):
    Channel = Channel
    driver_name = SCHEME

    def __init__(self, client, **kwargs):
        super().__init__(client, **kwargs)
        self.listing = Listing()  # the channels of one connection share it


def register() -> None:
    """Make ``agentry-filesystem://`` broker URLs name this transport."""
    TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
