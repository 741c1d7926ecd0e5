"""Service settings, read once at start-up from ``GRIDWATCH_*`` environment variables."""

from __future__ import annotations

import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from geo.maps.style import BASEMAP_CRS
from grids.cases.intake import CaseConfig
from grids.cases.photos import PhotoStore
from grids.community.config import CommunityConfig, load_config
from grids.samples.sources import CHECKOUT_DIR


def default_data_dir() -> Path:
    """``var/`` of the source checkout gridwatch runs from (``make run``), else the per-user
    data directory (``~/.local/share/gridwatch`` on Linux): never inside site-packages."""
    if CHECKOUT_DIR.is_dir():
        return CHECKOUT_DIR.parent / "var"
    return platformdirs.user_data_path("gridwatch", appauthor=False)


def default_samples_dir(data_dir: Path) -> Path:
    """The checkout's ``data_samples/``, else ``samples/`` in the data directory."""
    return CHECKOUT_DIR if CHECKOUT_DIR.is_dir() else data_dir / "samples"


class Settings(BaseSettings):
    """Everything the service and the CLI can be configured with.

    Example: ``GRIDWATCH_DATABASE_URL=postgresql://gridwatch@db/gridwatch gridwatch serve``.
    """

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=default_data_dir, description="Where the store, caches and uploads live"
    )
    database_url: str = Field(
        default_factory=lambda data: f"sqlite:///{data['data_dir'] / 'gridwatch.db'}",
        description="SQLAlchemy URL: sqlite:///file.db (embedded) or postgresql://user@host/db",
    )
    samples_dir: Path = Field(
        default_factory=lambda data: default_samples_dir(data["data_dir"]),
        description="The sample city's sources; `samples build` writes into its generated/",
    )
    timezone: str = Field(default="Asia/Shanghai", description="Local time of rosters and reports")
    snap_meters: float = Field(default=100.0, ge=0, description="Snap points this close to a grid")
    cell_resolution: int | None = Field(
        default=None, ge=0, le=15, description="H3 resolution of the cell map (default: automatic)"
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs reporter pseudonyms and webhooks; default: generated once into data_dir",
    )
    max_photo_mb: float = Field(default=10.0, gt=0, description="Largest photo accepted")
    max_photos: int = Field(default=5, ge=0, description="Photos per report or resolution")
    max_json_mb: float = Field(
        default=2.0,
        gt=0,
        description="Largest body that is not multipart (JSON): 10,000 check-ins fit in 2 MB",
    )
    max_outside_m: float = Field(
        default=2000.0, ge=0, description="Refuse reports farther than this from every grid"
    )
    duplicate_window_days: float = Field(default=7.0, gt=0)
    verify_max_m: float = Field(
        default=500.0, gt=0, description="An officer verifies on site: this close to the report"
    )
    occurred_max_age_days: float = Field(
        default=365.0, gt=0, description="Refuse reports whose occurred_at is older than this"
    )
    reward_daily_cap_yuan: float = Field(default=100.0, ge=0)
    reward_daily_cap_points: int = Field(default=100, ge=0)
    webhooks: dict[str, list[str]] = Field(
        default_factory=dict,
        description='Event type (or "*") to URLs, as JSON: {"case.created": ["https://..."]}',
    )
    escalation_interval_s: float = Field(
        default=60.0, ge=0, description="How often the service checks deadlines (0: never)"
    )
    webhook_interval_s: float = Field(default=10.0, ge=0, description="0: never")
    basemap_url: str | None = Field(
        default=None,
        description="XYZ tile template of a tile server, e.g. http://tiles.lan/{z}/{x}/{y}.png "
        "(default: no basemap, so no page asks any host but the service)",
    )
    basemap_crs: str = Field(
        default="wgs84", description="The datum of the basemap's tiles: wgs84, or gcj02 (Amap)"
    )
    basemap_file: Path | None = Field(
        default=None, description="An MBTiles or PMTiles archive of raster tiles gridwatch serves"
    )
    basemap_attribution: str = Field(default="", description="Shown in the map's corner")
    community_file: Path | None = Field(
        default=None,
        description="Kinds of volunteers and star-rating thresholds (TOML; default: the "
        "shipped grids/community/community.toml)",
    )
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name like Asia/Shanghai"
            ) from exc
        return value

    @field_validator("basemap_crs")
    @classmethod
    def _known_basemap_crs(cls, value: str) -> str:
        if value not in BASEMAP_CRS:
            raise ValueError(f"unknown basemap crs {value!r}; use one of {', '.join(BASEMAP_CRS)}")
        return value

    @model_validator(mode="after")
    def _one_basemap(self) -> Settings:
        if self.basemap_url and self.basemap_file:
            raise ValueError("set GRIDWATCH_BASEMAP_URL or GRIDWATCH_BASEMAP_FILE, not both")
        if self.basemap_url and not all(f"{{{k}}}" in self.basemap_url for k in "zxy"):
            raise ValueError(
                f"GRIDWATCH_BASEMAP_URL {self.basemap_url!r} needs {{z}}, {{x}} and {{y}}"
            )
        if self.basemap_file is not None:
            if self.basemap_file.suffix.lower() not in (".mbtiles", ".pmtiles"):
                raise ValueError(
                    f"GRIDWATCH_BASEMAP_FILE {self.basemap_file} must be .mbtiles or .pmtiles"
                )
            if not self.basemap_file.is_file():
                raise ValueError(f"GRIDWATCH_BASEMAP_FILE {self.basemap_file} does not exist")
        return self

    @property
    def photo_dir(self) -> Path:
        return self.data_dir / "photos"

    def secret(self) -> str:
        """The configured secret, or one generated on first use and kept in the data dir."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_urlsafe(32))
            path.chmod(0o600)
        return path.read_text().strip()

    def case_config(self) -> CaseConfig:
        """What the case loop needs of these settings (the service and the CLI alike)."""
        return CaseConfig(
            secret=self.secret(),
            max_outside_m=self.max_outside_m,
            duplicate_window_days=self.duplicate_window_days,
            webhooks=self.webhooks,
            reward_daily_cap_yuan=self.reward_daily_cap_yuan,
            reward_daily_cap_points=self.reward_daily_cap_points,
            timezone=self.timezone,
            verify_max_m=self.verify_max_m,
            occurred_max_age_days=self.occurred_max_age_days,
            photos=PhotoStore(
                self.photo_dir,
                max_bytes=int(self.max_photo_mb * 1024 * 1024),
                max_count=self.max_photos,
            ),
        )

    def community_config(self) -> CommunityConfig:
        """Kinds of volunteers and star thresholds from the community file."""
        return load_config(self.community_file, secret=self.secret(), timezone=self.timezone)

    @property
    def cellmap_path(self) -> Path:
        """The saved cell map; rebuilt automatically when the grids change."""
        return self.data_dir / "cellmap.npz"
