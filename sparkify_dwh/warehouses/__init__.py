"""The warehouses, and the one place that chooses among them: WAREHOUSE=postgres (default) or redshift."""

from __future__ import annotations

from ..config import Settings
from .base import Warehouse
from .postgres import Postgres


def of(settings: Settings) -> Warehouse:
    """The warehouse the settings name. Nothing else in the project tests a warehouse's name."""
    if settings.warehouse == "redshift":
        from .redshift import Redshift  # boto3 and the Redshift modules only when they are used

        return Redshift(settings)
    return Postgres(settings)


__all__ = ["Warehouse", "of"]
