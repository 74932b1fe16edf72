"""kombu's filesystem transport, with messages that appear in the queue folder only once complete.

kombu writes a message by opening its final file name and then writing the payload; a consumer polling the
folder can move and read that file in between and get an empty or partial message (seen as a worker's
``JSONDecodeError`` on the embedded stack, the run then waiting in ``queued`` for ever). Here the payload is
written under a name the consumer's queue filter never matches and renamed into place: a rename within one
folder is atomic, so a consumer sees either no file or the whole message.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Celery's ``broker_transport`` setting names this class for ``filesystem://`` brokers (backend.dispatch).
TRANSPORT_PATH = "backend.broker_fs:Transport"


class Channel(filesystem.Channel):
    # kombu's own base classes name the second argument differently (message / payload): either name
    # breaks one of them for mypy, and kombu passes it by position
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        """Put ``payload`` on ``queue``, atomically (same name scheme and order as kombu's own)."""
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        # the consumer takes only names ending in exactly ".<queue>.msg", so it skips the partial file
        partial = f"{final}.partial"
        try:
            with open(partial, "wb") as file:
                file.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class Transport(filesystem.Transport):
    Channel = Channel
