from __future__ import annotations

import enum

import sqlalchemy as sa


def str_enum(kind: type[enum.StrEnum], name: str, length: int = 16) -> sa.Enum:
    """A string enum stored as VARCHAR with a CHECK constraint (easy to extend in a migration)."""
    return sa.Enum(
        kind,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=length,
        values_callable=lambda members: [m.value for m in members],
    )
