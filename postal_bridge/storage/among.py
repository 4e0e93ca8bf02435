"""``column IN (values)`` for batch lookups, written so that PostgreSQL gets one statement text whatever the batch.

SQLAlchemy renders ``column.in_(values)`` as one bound parameter per value. psycopg caches the translation of a
statement's placeholders only for statements of at most 50 parameters (``psycopg._queries``), so a lookup of a
clerk's 100 scanned items was parsed afresh on every execution: about 1.8 ms of CPU each. On PostgreSQL the same
condition is written ``column = ANY(:values)`` with the values as one array parameter: a constant statement,
translated once. SQLite keeps the IN list (it has no arrays; its driver does not parse statements).

Used for lookups of consignments by id or code, not for the scans table: in a generic plan PostgreSQL searches an
array parameter row by row (an IN list of constants is hashed), and the scans lookups (by user and event id, by item
and day) were measured slower that way on a table without statistics than the translation they saved.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ARRAY, Connection, any_, bindparam
from sqlalchemy.sql.elements import ColumnElement


def among(conn: Connection, column: ColumnElement[Any], values: Sequence[Any]) -> ColumnElement[bool]:
    """The condition ``column`` is one of ``values``, the same rows on every backend."""
    if conn.dialect.name == "postgresql":
        return column == any_(bindparam(None, list(values), type_=ARRAY(column.type)))
    return column.in_(list(values))
