"""Where an index lives: a folder (a Path) or a PostgreSQL database (a postgresql:// URL)."""

from __future__ import annotations

from pathlib import Path

DATABASE_SCHEMES = ("postgresql://", "postgres://")


def is_database_url(location: object) -> bool:
    """True for a postgresql:// (or postgres://) URL, the form --database takes."""
    return isinstance(location, str) and location.startswith(DATABASE_SCHEMES)


IndexLocation = Path | str
"""An index folder, or a database URL."""
