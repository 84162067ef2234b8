"""What every warehouse provides, and the little the shared load needs to know about it.

The load (pipeline, staging, transform, checks) is written once. A warehouse supplies:
- `connect()`: a DB-API connection, set up (timeouts, keepalives) and checked;
- `caps`: its capabilities, declared as data (the SQL dialect whose files it runs, the statements
  that open a transform) rather than discovered by an `if` far away;
- `stager()`: how rows reach its staging tables, in two halves: `prepare`, which runs before the
  load takes its lock (Redshift reads, parses, compacts and uploads the files there), and `copy`,
  which runs inside the staging transaction (PostgreSQL streams the files through COPY FROM STDIN,
  Redshift runs COPY from S3);
- `url()`, `describe()`, `psql()`, `stop()`: for `bin/db`.

Everything else, the ledger and its replace rule, MAX_ERRORS, the rejects, the summary, the lock, the
transform and the checks, is the same SQL and Python on both.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .. import db
from ..records import Reject, UnknownFields
from ..sources import SourceFile

if TYPE_CHECKING:
    from ..config import Settings


@dataclass(frozen=True)
class Capabilities:
    dialect: str  # which SQL files it runs: NAME.sql and NAME.<dialect>.sql
    transform_setup: tuple[str, ...] = ()  # statements that open the transform's transaction
    session_setup: tuple[str, ...] = ()  # statements every connection sends once connected
    password_hash: str = "scram-sha-256"  # the verifier the reader's password is sent as (reader.VERIFIERS)
    # large results read through a server-side cursor (lookups.fill): on PostgreSQL. Not on Redshift, whose
    # DECLARE page says: "When the first row of a cursor is fetched, the entire result set is materialized on
    # the leader node" and "Only one cursor at a time can be open per session"; there the rows are fetched
    # in batches from the statement's result
    server_cursors: bool = False


@dataclass
class FileCount:
    """One source file read by a load: its records, how many were staged and how many rejected."""

    file: SourceFile
    read: int = 0
    staged: int = 0
    rejected: int = 0


@dataclass
class Plan:
    """What one load does with one source, decided before the lock: the files to read."""

    kind: str  # "songs" or "events"
    table: str  # its staging table
    source: str  # folder or s3:// prefix
    found: list[SourceFile]
    ledger: dict[str, tuple[int, str]]  # the ledger as read: source_file -> (size, version)
    todo: list[SourceFile]  # new and changed files, or every file on a full refresh
    full_refresh: bool = False
    withdrawn: int = 0  # files gone from the source before the star showed them, taken out under the lock
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason): found there, not read

    @property
    def replaced(self) -> list[str]:
        """Files read again because they changed: their earlier rows go."""
        return [f.uri for f in self.todo if f.uri in self.ledger]

    @property
    def foreign(self) -> int:
        """Files in the ledger that are not under the source (kept: a source's old files may expire); none on a
        full refresh, which empties the ledger and staging and reads the source alone."""
        if self.full_refresh:
            return 0
        present = {f.uri for f in self.found}
        return sum(1 for name in self.ledger if name not in present)


@dataclass
class Copied:
    """What a stager put into one staging table: per file counts, and every record it rejected."""

    files: list[FileCount] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    seconds: float = 0.0  # reading, parsing and copying this source


class StagingError(RuntimeError):
    """Staging cannot be trusted (a count that does not add up); nothing of it is committed."""


class CopyRejected(RuntimeError):
    """The warehouse's COPY failed over its error budget. `rejects` are (kind, record) of every reject
    the stager has not returned in a Copied. The staging transaction is rolled back when this is raised."""

    def __init__(self, rejects: list[tuple[str, Reject]], message: str):
        super().__init__(message)
        self.rejects = rejects


class Stager(ABC):
    """How one load's rows reach staging. Used as a context manager: leaving it, on any path,
    removes whatever `prepare` made outside the database. `fields`, set by the load: where the parser
    counts the fields it does not know (records.UnknownFields), passed to records.events and songs."""

    fields: UnknownFields | None = None

    def prepare(self, plans: list[Plan]) -> None:  # noqa: B027 - nothing to prepare unless a warehouse needs it
        """Before the load lock: whatever needs no lock."""

    @abstractmethod
    def copy(self, cur, plan: Plan, budget: int) -> Copied:
        """Inside the staging transaction: put `plan.todo`'s valid records into `plan.table`.
        `budget` is how many more rejects the load may take. Raises CopyRejected or StagingError."""

    @abstractmethod
    def statements(self, plan: Plan, budget: int) -> list[tuple[str, tuple, str | None]]:
        """(statement, parameters, note) of what `copy` sends for `plan`, in order, for the dry run."""

    def prepare_statements(self) -> list[tuple[str, tuple, str | None]]:
        """(statement, parameters, note) of what `prepare` sends, if anything, for the dry run."""
        return []

    def insert(self, cur, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Bookkeeping rows (rejects, the ledger) into `table`: multi-row INSERTs of bind parameters."""
        db.insert(cur, table, columns, rows)

    def insert_statement(self, table: str, columns: tuple[str, ...]) -> str:
        """What `insert` sends, for the dry run (one row's worth)."""
        return db.insert_sql(table, columns, 1)

    def discard(self) -> None:  # noqa: B027
        """Remove what `prepare` made; called on every exit path and before planning again."""

    def __enter__(self) -> Stager:
        return self

    def __exit__(self, *exc) -> None:
        self.discard()


class Warehouse(ABC):
    caps: Capabilities
    name: str

    def __init__(self, settings: Settings):
        self.settings = settings

    @abstractmethod
    def connect(self):
        """A connection, set up and checked; raises db.DatabaseError with a message safe to print."""

    @abstractmethod
    def stager(self, load_id: str, *, quiet: bool = False, dry_run: bool = False) -> Stager:
        """How this load's rows reach staging (`dry_run`: only to show its statements)."""

    @abstractmethod
    def url(self) -> str:
        """The warehouse's URL (starting a server this project runs, if it must)."""

    @abstractmethod
    def describe(self) -> str:
        """Where the warehouse is, for a person, without connecting or starting anything."""

    @abstractmethod
    def psql(self) -> tuple[list[str], dict[str, str]]:
        """The psql command line and extra environment (the password, never in argv) for `make psql`."""

    def before_commit(self, cur, results) -> list[str]:
        """In the transform's transaction, once its checks have passed: the maintenance that is best done on
        the rows before they are committed (PostgreSQL's ANALYZE); returns the statements run."""
        return []

    def before_commit_statements(self) -> list[tuple[str, tuple, str | None]]:
        """(statement, parameters, when) of `before_commit`, for the dry run."""
        return []

    def maintain(self, conn, results, say=print, rows=None) -> list[str]:
        """After the transform commits: whatever the warehouse needs after deletions (nothing on PostgreSQL,
        whose autovacuum keeps up); returns the statements run. `rows`: each star table's rows now, if
        counted already."""
        return []

    def maintenance_statements(self) -> list[tuple[str, tuple, str | None]]:
        """(statement, parameters, when) of `maintain`, for the dry run."""
        return []

    @abstractmethod
    def reader_params(self, password: str | None) -> dict[str, str]:
        """libpq parameters that connect as READER_USER (with `password`), as a BI tool on this machine would."""

    @abstractmethod
    def keep_reader_password(self, password: str) -> str:
        """Keep the reader's new password where this warehouse keeps it; says where (never the password)."""

    @abstractmethod
    def reader_password(self) -> str | None:
        """The reader's password as kept, or None when there is none."""

    @abstractmethod
    def forget_reader_password(self) -> str:
        """Remove the kept password (the user was dropped); says what was done."""

    def reader_psql(self) -> tuple[list[str], dict[str, str]]:
        """psql as the reader: its parameters on the command line, the password in PGPASSWORD (never in argv)."""
        params = self.reader_params(None)
        password = self.reader_password()
        dsn = " ".join(f"{k}={db.quoted(str(v))}" for k, v in params.items())
        return [self._psql_program(), dsn], {"PGPASSWORD": password} if password else {}

    def _psql_program(self) -> str:
        from .. import embedded

        return str(embedded.program("psql"))

    def stop(self) -> str:
        """Stop a server this project started; say what happened."""
        return f"nothing to stop: {self.describe()} is not a server this project runs"

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values that must never reach output: masked in every message."""
        return ()
