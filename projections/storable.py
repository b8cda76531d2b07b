"""Text parameters PostgreSQL can hold, whatever an event in the store carries.

The domain refuses NUL and unpaired surrogates now, but events stored by an older version live
for ever; every follower that writes their text registers this dumper on its cursor, so that
no event in the store can stop it (``domain.content.storable``: U+FFFD in their place).
"""

from __future__ import annotations

from psycopg import Cursor
from psycopg.abc import Buffer
from psycopg.rows import DictRow
from psycopg.types.string import StrDumperUnknown

from domain.content import storable


class StorableText(StrDumperUnknown):
    """Text parameters with what PostgreSQL cannot hold replaced."""

    def dump(self, obj: str) -> Buffer | None:
        """The text, storable."""
        return super().dump(storable(obj))


def write_storable_text(curs: Cursor[DictRow]) -> None:
    """From now on, ``curs`` writes every text parameter as storable text."""
    curs.adapters.register_dumper(str, StorableText)
