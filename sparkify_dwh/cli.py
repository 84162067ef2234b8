"""What every command in bin/ shares: argument parsing with an example, and errors as one clear line."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from . import db
from .config import Settings, SettingsError, load_settings


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser whose description and example come from the command's docstring."""
    summary, _, rest = doc.strip().partition("\n")
    return argparse.ArgumentParser(
        description=summary, epilog=rest.strip() or None, formatter_class=argparse.RawDescriptionHelpFormatter
    )


def run(main: Callable[[Settings], int | None]) -> None:
    """Run a command: known failures print one masked line to stderr and exit 1; no tracebacks."""
    from .aws import AwsError
    from .migrations import MigrationError
    from .pipeline import TooManyErrors
    from .sources import SourceError

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
    except (SettingsError, SourceError, MigrationError, db.DatabaseError, AwsError) as err:
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


def _fail(message: str, settings: Settings | None) -> None:
    secret = db.password_of(settings.database_url) if settings else None
    extra = settings.extra.get("DB_PASSWORD") if settings else None
    print(f"error: {db.mask(message, secret, extra)}", file=sys.stderr)
