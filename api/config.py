"""Service configuration from the environment (TERRITORY_*)."""

from pydantic_settings import BaseSettings, SettingsConfigDict

from persistence.db import DEFAULT_SQLITE_URL


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITORY_")

    database_url: str = DEFAULT_SQLITE_URL
    max_body_bytes: int = 64 * 1024 * 1024
    ownership_snapshots: bool = True
    ownership_rebuild_interval: float = 1.0
    log_level: str = "info"
