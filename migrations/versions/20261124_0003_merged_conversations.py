"""merged conversations

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24 01:52:58.219159
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

import kefu.db.base
from sqlalchemy import Text

revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with _rebuilding_sqlite_table():
        with op.batch_alter_table("conversations", schema=None) as batch_op:
            batch_op.add_column(sa.Column("merged_into_id", sa.Uuid(), nullable=True))
            batch_op.create_foreign_key(
                "fk_conversations_merged_into_id_conversations",
                "conversations",
                ["merged_into_id"],
                ["id"],
                ondelete="SET NULL",
            )


def downgrade() -> None:
    with _rebuilding_sqlite_table():
        with op.batch_alter_table("conversations", schema=None) as batch_op:
            batch_op.drop_constraint("fk_conversations_merged_into_id_conversations", type_="foreignkey")
            batch_op.drop_column("merged_into_id")


@contextmanager
def _rebuilding_sqlite_table() -> Iterator[None]:
    """SQLite's batch mode rebuilds the table and cannot reflect expression indexes: redo them."""
    sqlite = op.get_bind().dialect.name == "sqlite"
    if sqlite:
        for name in _FORM_INDEXES:
            op.execute(f"DROP INDEX {name}")
    yield
    if sqlite:
        for name, key, lowered in _FORM_INDEXES.values():
            value = f"CAST(JSON_EXTRACT(form_fields, '$.\"{key}\"') AS VARCHAR)"
            op.execute(f"CREATE INDEX {name} ON conversations ({f'lower({value})' if lowered else f'({value})'})")


_FORM_INDEXES = {
    "ix_conversations_form_order_id": ("ix_conversations_form_order_id", "order_id", False),
    "ix_conversations_form_tx_hash": ("ix_conversations_form_tx_hash", "tx_hash", True),
}
