"""The login throttle: a growing delay per account, a hard limit per client address.

Why not a lock-out: anyone who knows a user name could lock that account for the whole window by
typing wrong passwords. Instead, after ``LOGIN_LIMIT_PER_ACCOUNT``'s number of failures an
account may be tried once per delay, and the delay doubles with each further failure
(``LOGIN_DELAY_SECONDS`` up to ``LOGIN_DELAY_MAX_SECONDS``): guessing is slowed to a crawl, and
the real user, once the delay has passed, logs in (which clears the account's failures). Each
client address may fail ``LOGIN_LIMIT_PER_IP`` times per window, whichever accounts it tries.

Every try is counted *before* its password is checked, with one atomic increment in the limiter's
storage (``RATELIMIT_STORAGE_URI``: memory for one web process, Redis for several), and given back
when it succeeds or is refused. So parallel requests cannot slip past the count, as they could
when a check before the request was followed by a count after it. Refused tries cost no password
hashing, and refused or successful ones never lengthen anyone's delay. (A burst of parallel
tries may set a longer delay than one try at a time would, as the tries in flight count; never
longer than the cap.)
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import current_app
from limits import parse
from limits.storage import Storage

from repo_app.extensions import limiter

#: Doublings of the delay beyond which the cap applies anyway (keeps the numbers small).
_MAX_DOUBLINGS = 20


@dataclass(frozen=True)
class Refused:
    """A try refused unchecked: come back in ``wait_s`` seconds."""

    wait_s: int


@dataclass
class Attempt:
    """A try let through to the password check; report how it went with :meth:`succeeded`."""

    storage: Storage | None
    address_key: str = ""
    account_key: str = ""
    wait_key: str = ""

    def succeeded(self) -> None:
        """The password was right: this try does not count, the account's failures are cleared."""
        if self.storage is None:
            return
        self.storage.incr(self.address_key, 1, amount=-1)
        self.storage.clear(self.account_key)
        self.storage.clear(self.wait_key)

    def failed(self) -> None:
        """The password was wrong: the try stays counted (it was counted when it began)."""


def delay_after(failures_beyond: int) -> int:
    """Seconds the next try waits after ``failures_beyond`` + 1 failures past the free ones."""
    config = current_app.config
    doubled = config["LOGIN_DELAY_SECONDS"] * 2 ** min(max(failures_beyond, 0), _MAX_DOUBLINGS)
    return max(1, int(min(doubled, config["LOGIN_DELAY_MAX_SECONDS"])))


def begin(account: str, address: str) -> Attempt | Refused:
    """Count a try at ``account`` from ``address``, or refuse it (the password is not checked).

    Args:
        account: the throttle key of the account (the normalised user name, existing or not,
            so a refusal tells nothing about which names exist).
        address: the client's address.
    """
    if not limiter.enabled:
        return Attempt(None)
    storage = limiter.storage
    config = current_app.config
    prefix = "mura-login/" + config.get("RATELIMIT_KEY_PREFIX", "")
    per_address = parse(config["LOGIN_LIMIT_PER_IP"])
    address_key = f"{prefix}/ip/{address}"
    if storage.incr(address_key, per_address.get_expiry()) > per_address.amount:
        storage.incr(address_key, per_address.get_expiry(), amount=-1)
        return Refused(_seconds_left(storage, address_key))
    per_account = parse(config["LOGIN_LIMIT_PER_ACCOUNT"])
    account_key = f"{prefix}/account/{account}"
    wait_key = f"{prefix}/wait/{account}"
    tries = storage.incr(account_key, per_account.get_expiry())
    # Past the free tries, one try per delay: the first to create the wait key goes ahead (and
    # sets the wait before the next one); every other try meanwhile is refused.
    past_free = tries - per_account.amount
    if past_free >= 0 and storage.incr(wait_key, delay_after(past_free)) > 1:
        storage.incr(account_key, per_account.get_expiry(), amount=-1)
        storage.incr(address_key, per_address.get_expiry(), amount=-1)
        return Refused(_seconds_left(storage, wait_key))
    return Attempt(storage, address_key, account_key, wait_key)


def _seconds_left(storage: Storage, key: str) -> int:
    """Whole seconds until ``key`` expires, never too few (Redis's TTL is rounded to seconds)."""
    return max(1, math.ceil(storage.get_expiry(key) - time.time() + 0.5))
