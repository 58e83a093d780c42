"""Running Alembic from the application, with the owner's connection and the app role's name."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from config import Settings

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(settings: Settings) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", settings.effective_migration_url.replace("%", "%%"))
    cfg.attributes["app_db_role"] = settings.app_db_role
    return cfg


def upgrade(settings: Settings, revision: str = "head") -> None:
    if not settings.is_postgres:
        settings.instance_path.mkdir(parents=True, exist_ok=True)
    command.upgrade(alembic_config(settings), revision)


def downgrade(settings: Settings, revision: str) -> None:
    command.downgrade(alembic_config(settings), revision)
