"""Retries inside a run: a transient warehouse failure (db.transient: unreachable, the connection lost, a
serialization failure) is tried again on a new connection, up to RETRIES times, waiting RETRY_WAIT, then
twice that, and so on; each retry is said on stderr in one line, masked. Any other failure, and the last
transient one, goes on to the command (exit 75 for a transient one).

What is retried is a whole attempt from its connection on, never a statement: a transaction the
failure interrupted was rolled back by the server, and an attempt is safe to repeat (the ledger skips
what an earlier attempt committed; the transform and the checks are idempotent).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TypeVar

from . import db
from .config import Settings

T = TypeVar("T")
_sleep = time.sleep


def waits(settings: Settings) -> list[float]:
    """The pauses before each retry: RETRY_WAIT doubling, RETRIES of them."""
    return [settings.retry_wait * 2**n for n in range(settings.retries)]


def call(settings: Settings, attempt: Callable[[int], T], *, secrets: tuple[str, ...] = (),
         on_retry: Callable[[BaseException], None] | None = None) -> T:
    """attempt(n) for n = 1, 2, ... until it returns, or raises an error that is not transient, or the
    retries are spent. `on_retry(err)` runs before each pause (a caller's cleanup)."""
    pauses = waits(settings)
    hidden = (*secrets, *db.secrets_of(settings.extra.get("DATABASE_URL"), settings.extra))
    for n in range(1, len(pauses) + 2):
        try:
            return attempt(n)
        except Exception as err:
            if n > len(pauses) or not db.transient_or_caused(err):
                raise
            if on_retry is not None:
                on_retry(err)
            wait = pauses[n - 1]
            first = " ".join(str(err).split())[:300] or type(err).__name__
            print(db.mask(f"transient failure: {first}; retrying in {wait:g} s (retry {n} of {len(pauses)})",
                          *hidden), file=sys.stderr, flush=True)
            _sleep(wait)
    raise AssertionError("unreachable")  # the loop returns or raises
