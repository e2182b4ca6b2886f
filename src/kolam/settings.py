"""Runtime configuration, read from the environment (prefix ``KOLAM_``) when asked for, never at import."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything an operator can tune; every field is documented because the docs test reads them."""

    model_config = SettingsConfigDict(env_prefix="KOLAM_", extra="ignore")

    data_dir: Path = Field(
        default=Path("kolam-data"),
        description="Folder for the embedded database, blobs and job queue when nothing else is configured.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database, e.g. postgresql+psycopg://user@host/db. "
        "Empty: SQLite at <data_dir>/kolam.db.",
    )
    blob_url: str | None = Field(
        default=None,
        description="Where item content (images, audio) is stored, as an fsspec URL. Empty: <data_dir>/blobs.",
    )
    host: str = Field(default="127.0.0.1", description="Address `kolam serve` binds to.")
    port: int = Field(default=8420, description="Port `kolam serve` listens on.")
    mode: str = Field(
        default="local",
        description="`local` (one machine, relaxed defaults) or `production` (refuses unsafe settings).",
    )
    lease_seconds: int = Field(default=600, ge=10, description="How long a leased task stays reserved.")
    max_batch: int = Field(default=100, ge=1, description="Most tasks one `next` call may lease.")
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024,
        ge=1,
        description="Largest upload (import file or item blob) accepted; a .gz upload may not decompress to more.",
    )
    max_item_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1, description="Largest single item file accepted by an import."
    )
    import_roots: list[Path] = Field(
        default_factory=list,
        description="Server folders that imports over the API may reference by path (JSON list). Empty: none.",
    )
    session_hours: int = Field(default=12, ge=1, description="How long a browser login lasts.")
    cookie_secure: bool = Field(
        default=False, description="Mark the session cookie Secure (set when served over HTTPS)."
    )
    sqlite_busy_timeout_ms: int = Field(
        default=5000, ge=0, description="How long a SQLite writer waits for the lock before failing."
    )
    pool_size: int = Field(default=10, ge=1, description="Database connections per server process.")
    log_level: str = Field(default="info", description="Log level of the server.")
    jobs_url: str | None = Field(
        default=None,
        description="Where background jobs (media derivation, background imports) are queued: "
        "redis://host:port/db to share them among `kolam worker` processes, or sqlite:///path. "
        "Empty: SQLite at <data_dir>/jobs.db.",
    )
    job_workers: int = Field(
        default=1,
        ge=0,
        description="Job threads `kolam serve` runs inside each server process, so nothing waits on a worker "
        "nobody started; 0: none (run `kolam worker` separately).",
    )
    public_url: str | None = Field(
        default=None,
        description="How a client's model server reaches this Kolam (media links it downloads). Empty: "
        "http://<host>:<port>.",
    )
    secret_key: SecretStr | None = Field(
        default=None,
        min_length=32,
        description="Key that signs the short-lived media links a client's model server downloads (at least 32 "
        "characters, e.g. `openssl rand -hex 32`). Several server processes behind a load balancer must share "
        "the same value. Unset: generated once and kept in <data_dir>/secret.key (copy that file's text here "
        "to keep existing links valid).",
    )
    prelabel_on_import: bool = Field(
        default=True,
        description="After each import, embed the new items and let the project's model predict them and order "
        "the queue (needs the ml extra; without it the job only logs that).",
    )

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.mode not in ("local", "production"):
            raise ValueError("KOLAM_MODE must be 'local' or 'production'")
        if self.mode == "production":
            if not self.cookie_secure:
                raise ValueError("KOLAM_COOKIE_SECURE=true is required in production mode (serve over HTTPS)")
            if not self.database_url:
                raise ValueError("KOLAM_DATABASE_URL is required in production mode (PostgreSQL)")
            if self.secret_key is None:
                raise ValueError(
                    "KOLAM_SECRET_KEY is required in production mode (every server must sign media links alike)"
                )
        return self

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'kolam.db').resolve()}"

    @property
    def effective_public_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def effective_blob_url(self) -> str:
        return self.blob_url or str((self.data_dir / "blobs").resolve())


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, built on first use."""
    return Settings()
