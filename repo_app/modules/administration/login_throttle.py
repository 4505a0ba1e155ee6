"""The login throttle: a growing delay per account, a hard limit per client address.

Why not a lock-out: anyone who knows a user name could lock that account for the whole window by
typing wrong passwords. Instead an account, past its free failures, may be tried once per delay,
and the delay doubles with each further failure (``LOGIN_DELAY_SECONDS`` up to
``LOGIN_DELAY_MAX_SECONDS``): guessing is slowed to a crawl, and the real user, once the delay has
passed, logs in (which clears the account's failures). The delay comes at two levels: for the
account from one address (``LOGIN_LIMIT_PER_ACCOUNT_AND_IP`` free failures), so one attacker
delays only their own address, and for the account from every address together
(``LOGIN_LIMIT_PER_ACCOUNT``), against an attack spread over many addresses. Each client address
may fail ``LOGIN_LIMIT_PER_IP`` times per window, whichever accounts it tries.

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
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

from flask import current_app
from limits import RateLimitItem, parse
from limits.storage import MemoryStorage, Storage

from mura.app.extensions import limiter

#: Doublings of the delay beyond which the cap applies anyway (keeps the numbers small).
_MAX_DOUBLINGS = 20
#: The memory storage's increments are not atomic when two threads first touch a key at once
#: (each may make its own lock); Redis's are (one Lua script). Memory: one lock per process.
_MEMORY_LOCK = threading.Lock()


def _atomic(storage: Storage) -> AbstractContextManager[object]:
    return _MEMORY_LOCK if isinstance(storage, MemoryStorage) else nullcontext()


@dataclass(frozen=True)
class Refused:
    """A try refused unchecked: come back in ``wait_s`` seconds."""

    wait_s: int


@dataclass(frozen=True)
class _Gate:
    """Failures counted under one key; past the limit's amount, one try per delay."""

    count_key: str
    wait_key: str
    limit: RateLimitItem

    def enter(self, storage: Storage) -> int | None:
        """Count a try; None when it may go ahead, else the seconds to wait (not counted)."""
        tries = storage.incr(self.count_key, self.limit.get_expiry())
        # Past the free tries, the first try to create the wait key goes ahead (and sets the
        # wait before the next one); every other try meanwhile is refused.
        past_free = tries - self.limit.amount
        if past_free >= 0 and storage.incr(self.wait_key, delay_after(past_free)) > 1:
            self.give_back(storage)
            return _seconds_left(storage, self.wait_key)
        return None

    def give_back(self, storage: Storage) -> None:
        """Uncount a try that was not made."""
        storage.incr(self.count_key, self.limit.get_expiry(), amount=-1)

    def clear(self, storage: Storage) -> None:
        """Forget the failures and the wait (the password was right)."""
        storage.clear(self.count_key)
        storage.clear(self.wait_key)


@dataclass
class Attempt:
    """A try let through to the password check; report how it went with :meth:`succeeded`."""

    storage: Storage | None
    address: _Gate | None = None
    gates: tuple[_Gate, ...] = ()

    def succeeded(self) -> None:
        """The password was right: this try does not count, the account's failures are cleared."""
        if self.storage is None or self.address is None:
            return
        with _atomic(self.storage):
            self.address.give_back(self.storage)
            for gate in self.gates:
                gate.clear(self.storage)

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
    with _atomic(storage):
        return _begin(storage, account, address)


def _begin(storage: Storage, account: str, address: str) -> Attempt | Refused:
    config = current_app.config
    prefix = "mura-login/" + config.get("RATELIMIT_KEY_PREFIX", "")
    per_address = parse(config["LOGIN_LIMIT_PER_IP"])
    address_key = f"{prefix}/ip/{address}"
    if storage.incr(address_key, per_address.get_expiry()) > per_address.amount:
        storage.incr(address_key, per_address.get_expiry(), amount=-1)
        return Refused(_seconds_left(storage, address_key))
    address_gate = _Gate(address_key, "", per_address)
    gates = (
        _Gate(
            f"{prefix}/account-ip/{address}/{account}",
            f"{prefix}/wait-ip/{address}/{account}",
            parse(config["LOGIN_LIMIT_PER_ACCOUNT_AND_IP"]),
        ),
        _Gate(
            f"{prefix}/account/{account}",
            f"{prefix}/wait/{account}",
            parse(config["LOGIN_LIMIT_PER_ACCOUNT"]),
        ),
    )
    passed: list[_Gate] = []
    for gate in gates:
        wait_s = gate.enter(storage)
        if wait_s is not None:
            for counted in (address_gate, *passed):
                counted.give_back(storage)
            return Refused(wait_s)
        passed.append(gate)
    return Attempt(storage, address_gate, gates)


def _seconds_left(storage: Storage, key: str) -> int:
    """Whole seconds until ``key`` expires, never too few (Redis's TTL is rounded to seconds)."""
    return max(1, math.ceil(storage.get_expiry(key) - time.time() + 0.5))
