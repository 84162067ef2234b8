"""Settings: read once from the environment and an optional `.env` file.

The environment wins over `.env`. Every setting is documented in `env.example`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
ENV_EXAMPLE = "env.example"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and the file that documents it."""


def _env(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def _int(values: dict[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number (see {ENV_EXAMPLE})") from None


def _flag(values: dict[str, str], name: str) -> bool:
    return values.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    song_data: str
    log_data: str
    warehouse: str
    max_errors: int
    full_refresh: bool
    dry_run: bool
    max_event_age_hours: int | None
    read_workers: int
    pgdata: Path
    demo_dir: Path
    demo_events: int
    demo_songs: int
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    report_out: Path = ROOT / "report.html"

    @property
    def uses_demo_data(self) -> bool:
        return not self.extra.get("SONG_DATA") and not self.extra.get("LOG_DATA")


def load_settings(env_file: Path | None = None) -> Settings:
    """Settings from the environment over `.env` (or the file named by ENV_FILE)."""
    values = _env(env_file or Path(os.environ.get("ENV_FILE") or ROOT / ".env"))
    warehouse = values.get("WAREHOUSE", "postgres").strip().lower() or "postgres"
    if warehouse not in {"postgres", "redshift"}:
        raise SettingsError(f"WAREHOUSE={warehouse!r}: expected postgres or redshift (see {ENV_EXAMPLE})")
    demo_dir = Path(values.get("DEMO_DIR", "") or ROOT / "data" / "demo")
    age = values.get("MAX_EVENT_AGE", "").strip()
    max_age = None
    if age:
        max_age = _parse_age_hours(age)
    return Settings(
        database_url=values.get("DATABASE_URL") or None,
        song_data=values.get("SONG_DATA") or str(demo_dir / "song_data"),
        log_data=values.get("LOG_DATA") or str(demo_dir / "log_data"),
        warehouse=warehouse,
        max_errors=_int(values, "MAX_ERRORS", 0),
        full_refresh=_flag(values, "FULL_REFRESH"),
        dry_run=_flag(values, "DRY_RUN"),
        max_event_age_hours=max_age,
        read_workers=_int(values, "READ_WORKERS", 16),
        pgdata=Path(values.get("PGDATA_DIR", "") or ROOT / ".pgdata"),
        demo_dir=demo_dir,
        demo_events=_int(values, "DEMO_EVENTS", 20000),
        demo_songs=_int(values, "DEMO_SONGS", 2000),
        extra=values,
        report_out=Path(values.get("REPORT_OUT", "") or ROOT / "report.html"),
    )


def _parse_age_hours(raw: str) -> int:
    """`MAX_EVENT_AGE` as hours: `36`, `36h` or `7d`."""
    text = raw.strip().lower()
    unit = 1
    if text.endswith("d"):
        unit, text = 24, text[:-1]
    elif text.endswith("h"):
        text = text[:-1]
    try:
        return int(text) * unit
    except ValueError:
        raise SettingsError(
            f"MAX_EVENT_AGE={raw!r}: expected hours (36, 36h) or days (7d) (see {ENV_EXAMPLE})"
        ) from None
