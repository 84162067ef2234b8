"""What every command in bin/ shares: argument parsing with an example, and errors as one clear line
(TRACEBACK=1 adds the whole traceback, masked like the line)."""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable

from . import db, embedded, outcomes
from .aws import AwsError
from .checks import GateFailed, StagingLost
from .config import Settings, SettingsError, defaults, load_settings
from .migrations import MigrationError
from .sources import SourceError
from .staging import LedgerMoving, TooManyErrors
from .warehouses.base import StagingError

KNOWN = (SettingsError, SourceError, MigrationError, db.DatabaseError, AwsError, StagingError, LedgerMoving,
         StagingLost, embedded.ServerError, GateFailed)


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose description and example come from the command's docstring."""
    summary, _, rest = doc.strip().partition("\n")
    return argparse.ArgumentParser(
        description=summary, epilog=rest.strip() or None, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run(main: Callable[[Settings], int | None], *, writes_env_file: bool = False, changes: str | None = None) -> None:
    """Run a command: failures print one masked line to stderr and exit with the code outcomes.exit_code
    gives them (2 bad settings, 3 over MAX_ERRORS, 4 a source unreadable, 75 transient, 1 the rest).
    `--help` works whatever the settings say; `writes_env_file`: the command creates ENV_FILE if missing.
    `changes`: what the command changes when it has no dry run of its own; under DRY_RUN=1 it is refused,
    before anything is connected to (a command with a dry run reads settings.dry_run itself)."""
    settings = None
    try:
        settings = _settings(writes_env_file)
        if changes and settings.dry_run and not {"-h", "--help"} & set(sys.argv[1:]):
            raise SettingsError(refused_dry_run(changes))
        code = main(settings)
        sys.stdout.flush()
    except TooManyErrors as err:
        _fail(str(err), settings)
        for r in err.sample:
            print(db.mask(f"  {r.source}:{r.line_number}: {r.reason}", *secrets(settings)), file=sys.stderr)
        code = outcomes.exit_code(err)
    except KNOWN as err:
        _fail(str(err), settings)
        code = outcomes.exit_code(err)
    except KeyboardInterrupt as err:
        _fail("interrupted", settings)
        code = outcomes.exit_code(err)
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        code = 0
    except Exception as err:  # a database error mid-statement, an S3 failure: one line, masked
        _fail(f"{type(err).__name__}: {err}", settings)
        code = outcomes.exit_code(err)
    sys.exit(code or 0)


def refused_dry_run(changes: str) -> str:
    name = os.path.basename(sys.argv[0])
    return (f"DRY_RUN=1: bin/{name} has no dry run and would change {changes}; nothing was done (unset DRY_RUN "
            "to run it; DRY_RUN=1 bin/load prints every statement a load sends)")


def _settings(writes_env_file: bool) -> Settings:
    try:
        return load_settings(missing_file_ok=writes_env_file)
    except SettingsError:
        if {"-h", "--help"} & set(sys.argv[1:]):
            return defaults()  # the help is printed by main's parser, which exits before any work
        raise


def secrets(settings: Settings | None) -> tuple[str, ...]:
    """Every secret the settings hold (read from the environment when the settings themselves failed)."""
    if settings is None:
        return db.secrets_of(os.environ.get("DATABASE_URL"), os.environ)
    return db.secrets_of(settings.extra.get("DATABASE_URL"), settings.extra)


def one_line(message: str) -> str:
    """A message of several lines (a server's DETAIL, HINT and CONTEXT lines) on one line."""
    return " ".join(line.strip() for line in message.strip().splitlines() if line.strip())


def _fail(message: str, settings: Settings | None) -> None:
    hidden = secrets(settings)
    kind = sys.exc_info()[0]
    if kind is not None and settings is not None and settings.traceback:
        print(db.mask(traceback.format_exc().rstrip(), *hidden), file=sys.stderr)
    elif kind is not None and not issubclass(kind, (*KNOWN, TooManyErrors, KeyboardInterrupt)):
        message += " (TRACEBACK=1 shows where it happened)"
    print(f"error: {db.mask(one_line(message), *hidden)}", file=sys.stderr)
