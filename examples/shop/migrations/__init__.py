"""The shop's schema migrations, run with Alembic.

Revision 0001 creates the schema the ``before`` variant runs on; revision 0002
adds the index on ``order_items.product_id`` that the ``after`` variant has.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection

BEFORE_REVISION = "0001"
AFTER_REVISION = "0002"


def upgrade(connection: Connection, revision: str) -> None:
    """Upgrade the database behind ``connection`` to ``revision``."""
    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent))
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
