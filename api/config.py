"""Service configuration from the environment (TERRITORY_*)."""

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from api.ratelimit import REDIS_SCHEMES, parse_rate
from persistence.db import DEFAULT_SQLITE_URL


class AppSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TERRITORY_")

    database_url: str = DEFAULT_SQLITE_URL
    max_body_bytes: int = 64 * 1024 * 1024
    # PostgreSQL: where the LISTEN connection goes when database_url points at PgBouncer in transaction
    # mode (LISTEN needs a session of its own); default: database_url
    listen_database_url: str | None = None
    ownership_snapshots: bool = True
    # seconds between two whole builds of one tenant's index (a tenant dropped from memory, or a plan switch)
    ownership_rebuild_interval: float = 1.0
    # memory for ownership indexes per worker process; past it the least recently used tenants are dropped
    # (answered from SQL until rebuilt)
    ownership_memory_mb: float = 1024.0
    # a worker this many changes behind builds its index anew instead of applying them one by one
    ownership_catch_up_limit: int = 20_000
    # how long a key the database confirmed is accepted by lookups while the database cannot be reached
    key_cache_seconds: float = 60.0
    # run the background worker (webhook delivery) inside each API process; turn off where separate
    # `territory worker` processes do it
    worker_in_process: bool = True
    # multiplies the webhook retry schedule (domain.defaults.WEBHOOK_RETRY_SECONDS): below 1 retries sooner
    webhook_retry_scale: float = 1.0
    log_level: str = "info"
    # origins a browser app may call the API from (CORS), e.g. ["https://territories.example.com"]; none by
    # default. Preflights are answered and may be cached this many seconds.
    cors_origins: list[str] = []
    cors_max_age: int = 600
    # answers larger than this are gzip-compressed for clients that accept it (streamed exports too)
    compress_min_bytes: int = 1024
    # requests per API key (api/ratelimit.py): every REST or GraphQL request made with a key, in the `limits`
    # notation ("600/minute", "10/second", "5000/hour"); "" turns it off (benchmarks, fuzzing)
    rate_limit: str = "600/minute"
    # the ownership lookup's own, higher budget per key (GET /v1/ownership/{external_id}); "" turns it off
    rate_limit_lookup: str = "60000/minute"
    # where the counters live: "" is this process's memory; redis://host:6379/0 shares them between every
    # process and host that names the same server and prefix. Redis down: requests are served (fail open).
    rate_limit_storage_url: str = ""
    # the prefix of every counter's key on Redis (deployments sharing one Redis keep apart by it)
    rate_limit_key_prefix: str = "territory"

    @field_validator("rate_limit", "rate_limit_lookup")
    @classmethod
    def _rate(cls, value: str) -> str:
        parse_rate(value)
        return value

    @field_validator("rate_limit_storage_url")
    @classmethod
    def _storage(cls, value: str) -> str:
        if value.strip() and not value.strip().startswith(REDIS_SCHEMES):
            raise ValueError("a redis:// URL (or rediss://, redis+unix://), or empty: this process's memory")
        return value
