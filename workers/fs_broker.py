"""kombu's filesystem transport, with a publish that is atomic and a consumer that survives.

kombu 5.7's ``filesystem`` transport creates a message file, then locks it, then writes it; a
consumer that lists the folder at that moment moves the still-empty file away, fails to decode
it, and the exception ends the worker's consumer: the message is lost and the embedded worker
stops (kombu issue #1551; seen here during a 3-page ingest). Here a message is written under a
hidden temporary name in the queue folder and renamed into place, so a consumer only ever sees
whole messages; a file that still cannot be decoded (written by an older process) is logged and
skipped instead of stopping the worker. Celery uses this class through ``broker_transport``
(``workers/celery_app.py``); the broker URL stays ``filesystem://``.
"""

from __future__ import annotations

import logging
import uuid
from pathlib import Path
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)


class Channel(filesystem.Channel):
    """The filesystem channel with an atomic ``_put`` and a forgiving ``_get``."""

    def _put(self, queue: str, payload: dict, **kwargs: object) -> None:
        # kombu takes files in sorted name order: zero-padding keeps that first-in, first-out
        # when the millisecond count gains a digit (every few hours after boot).
        name = f"{round(monotonic() * 1000):015d}_{uuid.uuid4()}.{queue}.msg"
        final = Path(self.data_folder_out) / name
        # Hidden and with another suffix: _get only takes names ending in ".<queue>.msg".
        partial = Path(self.data_folder_out) / f".{name}.part"
        try:
            partial.write_bytes(str_to_bytes(dumps(payload)))
            partial.replace(final)  # atomic within the folder
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ChannelError(f"Cannot add file {str(final)!r} to directory") from exc

    def _get(self, queue: str) -> dict:
        while True:
            try:
                return super()._get(queue)
            except ValueError as exc:  # JSONDecodeError: the file is already removed
                log.error("skipped an unreadable message file in queue %s: %s", queue, exc)


def _asked_to_stop(*flags: object) -> bool:
    """Celery's stop flags: an exit code once set (0 too), None or False otherwise."""
    return any(flag is not None and flag is not False for flag in flags)


class Transport(filesystem.Transport):
    """``filesystem://`` with :class:`Channel`, and a wait that ends when the worker stops."""

    Channel = Channel

    #: The longest wait for a message before looking whether the worker was asked to stop.
    STOP_CHECK_S = 0.25

    def drain_events(self, connection: object, timeout: float | None = None) -> None:
        """Wait for a message as kombu does, in short steps that end once a stop is asked.

        Celery's loop for this transport waits up to 2 s here and, after SIGTERM, once more
        before it looks at the stop flag: 4 of the 6-9 s an idle embedded worker took to stop.
        """
        from celery.worker import state

        if not timeout:
            return super().drain_events(connection, timeout=timeout)
        deadline = monotonic() + timeout
        while True:
            left = deadline - monotonic()
            if left <= 0 or _asked_to_stop(state.should_stop, state.should_terminate):
                raise TimeoutError
            try:
                return super().drain_events(connection, timeout=min(left, self.STOP_CHECK_S))
            except TimeoutError:
                continue
