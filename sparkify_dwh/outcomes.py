"""Exit codes: what a command's failure was, told in one number a scheduler can act on. The one mapping
from an error to its code; every command in bin/ and `docker run IMAGE COMMAND` exit with it (make turns
any failure into its own 2, so a schedule calls the commands, never make).

  0   success
  1   a data check failed (the transform's gate, or verify), or a failure not named below
  2   bad settings or usage (SONG_DATA and LOG_DATA overlapping included)
  3   more rejected records than MAX_ERRORS
  4   a source could not be read: a file, after its retries; a source missing or empty
  75  transient: the warehouse was unreachable or lost mid-run, or a serialization failure; safe to retry
      (EX_TEMPFAIL of sysexits.h)
  130 interrupted
"""

from __future__ import annotations

import argparse

from . import db
from .checks import GateFailed
from .config import SettingsError
from .sources import Overlapping, SourceError
from .staging import TooManyErrors

OK, CHECK_FAILED, USAGE, TOO_MANY_REJECTS, SOURCE_UNREADABLE, TRANSIENT, INTERRUPTED = 0, 1, 2, 3, 4, 75, 130
MEANING = {
    OK: "success",
    CHECK_FAILED: "a data check failed (or another failure, named in its message)",
    USAGE: "bad settings or usage",
    TOO_MANY_REJECTS: "more rejected records than MAX_ERRORS",
    SOURCE_UNREADABLE: "a source could not be read",
    TRANSIENT: "transient: the warehouse unreachable or lost, or a serialization failure; safe to retry",
    INTERRUPTED: "interrupted",
}


def exit_code(err: BaseException | None) -> int:
    """The exit code for a command that ended with `err` (None: success)."""
    if err is None:
        return OK
    if isinstance(err, KeyboardInterrupt):
        return INTERRUPTED
    if isinstance(err, SystemExit):  # argparse's usage errors exit 2 themselves
        return err.code if isinstance(err.code, int) else USAGE
    if db.transient_or_caused(err):
        return TRANSIENT
    if isinstance(err, SettingsError | Overlapping | argparse.ArgumentError):
        return USAGE
    if isinstance(err, TooManyErrors):
        return TOO_MANY_REJECTS
    if isinstance(err, SourceError):
        return SOURCE_UNREADABLE
    if isinstance(err, GateFailed):
        return CHECK_FAILED
    return CHECK_FAILED  # anything else: the message names it
