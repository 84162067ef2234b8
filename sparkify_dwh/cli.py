"""What every command in bin/ shares: argument parsing with an example, and errors as one clear line
(TRACEBACK=1 adds the whole traceback, masked like the line)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from . import db
from .aws import AwsError
from .checks import GateFailed, StagingLost
from .config import Settings, SettingsError, load_settings
from .migrations import MigrationError
from .sources import SourceError
from .staging import LedgerMoving, TooManyErrors
from .warehouses.base import StagingError

KNOWN = (SettingsError, SourceError, MigrationError, db.DatabaseError, AwsError, StagingError, LedgerMoving,
         StagingLost, GateFailed)


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose description and example come from the command's docstring."""
    summary, _, rest = doc.strip().partition("\n")
    return argparse.ArgumentParser(
        description=summary, epilog=rest.strip() or None, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run(main: Callable[[Settings], int | None]) -> None:
    """Run a command: failures print one masked line to stderr and exit 1 (130 when interrupted)."""
    settings = None
    try:
        settings = load_settings()
        code = main(settings)
        sys.stdout.flush()
    except TooManyErrors as err:
        _fail(str(err), settings)
        for r in err.sample:
            print(f"  {r.source}:{r.line_number}: {r.reason}", file=sys.stderr)
        code = 1
    except KNOWN as err:
        _fail(str(err), settings)
        code = 1
    except KeyboardInterrupt:
        _fail("interrupted", settings)
        code = 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except Exception as err:  # a database error mid-statement, an S3 failure: one line, masked
        _fail(f"{type(err).__name__}: {str(err).strip()}", settings)
        code = 1
    sys.exit(code or 0)


def _secrets(settings: Settings | None) -> tuple[str | None, ...]:
    if settings is None:
        return ()
    return db.password_of(settings.database_url), settings.extra.get("DB_PASSWORD")


def _fail(message: str, settings: Settings | None) -> None:
    secrets = _secrets(settings)
    kind = sys.exc_info()[0]
    if kind is not None and settings is not None and settings.traceback:
        print(db.mask(traceback.format_exc().rstrip(), *secrets), file=sys.stderr)
    elif kind is not None and not issubclass(kind, (*KNOWN, TooManyErrors, KeyboardInterrupt)):
        message += " (TRACEBACK=1 shows where it happened)"
    print(f"error: {db.mask(message, *secrets)}", file=sys.stderr)
