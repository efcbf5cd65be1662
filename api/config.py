"""The one place Echoes reads its environment.

``Settings.from_env()`` turns environment variables into a frozen, typed object; every other
module receives settings (or a part of them) as an argument. Each variable switches one part
of the system from its embedded default to a real service (see the README's table).

Secrets: in production (``ECHOES_ENV=production``) a missing ``SECRET_KEY`` is a start-up
error. In development and test the embedded default generates one on first use and keeps it
under ``var/`` so every process (API, worker) and every restart signs with the same key.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parent.parent

Environment = Literal["development", "production", "test"]


@dataclass(frozen=True)
class CreditPack:
    id: str
    name: str
    credits: int
    price_cents: int
    currency: str = "usd"


DEFAULT_PACKS = "starter:Starter:5:1500,family:Family:20:4500,archive:Archive:40:8000"


def parse_packs(spec: str) -> tuple[CreditPack, ...]:
    """``id:Name:credits:price_cents`` entries separated by commas (prices in US cents)."""
    packs = []
    for entry in filter(None, (e.strip() for e in spec.split(","))):
        parts = entry.split(":")
        if len(parts) != 4:
            raise ConfigurationError(f"CREDIT_PACKS entry {entry!r} is not id:Name:credits:price_cents")
        pack_id, name, credits, price = parts
        try:
            pack = CreditPack(pack_id, name, int(credits), int(price))
        except ValueError:
            raise ConfigurationError(f"CREDIT_PACKS entry {entry!r} has a non-numeric amount") from None
        if pack.credits <= 0 or pack.price_cents < 50:
            raise ConfigurationError(f"CREDIT_PACKS entry {entry!r} must sell >= 1 credit for >= 50 cents")
        packs.append(pack)
    if not packs or len({p.id for p in packs}) != len(packs):
        raise ConfigurationError("CREDIT_PACKS must list at least one pack, with distinct ids")
    return tuple(packs)


class ConfigurationError(RuntimeError):
    """The environment does not describe a runnable system."""


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"expected a boolean, got {value!r}")


def load_or_create_secret(path: Path, *, nbytes: int = 32) -> str:
    """Read a secret kept in ``path``, creating it (mode 0600) the first time.

    Creation uses O_EXCL so two processes starting together agree on one secret.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def load_or_create_vapid_key(path: Path) -> str:
    """The Web Push (VAPID) signing key kept in ``path`` as PEM, created the first time.

    Browsers bind a push subscription to the key it was made with, so the key must outlive
    restarts: a new key would silently orphan every subscription.
    """
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "wb") as fh:
        fh.write(pem)
    return pem.decode().strip()


@dataclass(frozen=True, kw_only=True)
class Settings:
    env: Environment = "development"
    var_dir: Path = REPO_ROOT / "var"
    secret_key: str = ""

    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:54329/echoes"
    database_pool_size: int = 10
    redis_url: str = "redis://127.0.0.1:63799/0"
    storage_url: str = ""

    media_url_ttl: int = 3600
    upload_max_bytes: int = 25 * 1024 * 1024

    free_try_per_visitor: int = 1
    free_try_per_ip: int = 3
    free_try_window_hours: int = 24

    motion_providers: tuple[str, ...] = ("local",)
    runway_api_key: str = ""
    runway_api_base: str = "https://api.dev.runwayml.com"
    runway_model: str = "gen4_turbo"
    runpod_api_key: str = ""
    runpod_endpoint_id: str = ""
    runpod_api_base: str = "https://api.runpod.ai/v2"
    provider_timeout_seconds: float = 600.0
    provider_attempts: int = 3
    provider_cooldown_seconds: int = 120
    provider_poll_seconds: float = 5.0
    clip_seconds: float = 5.0
    free_try_intro_seconds: float = 0.5

    worker_clips_concurrency: int = 4
    worker_renders_concurrency: int = max(1, os.cpu_count() or 1)
    worker_default_concurrency: int = 10
    clip_job_heartbeat_seconds: int = 60
    worker_sweep_seconds: int = 30

    credit_packs: tuple[CreditPack, ...] = parse_packs(DEFAULT_PACKS)
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    public_url: str = "http://localhost:3000"
    signup_limit_per_hour: int = 10
    login_limit_per_15min: int = 20

    log_level: str = "INFO"
    log_json: bool = False
    trusted_proxies: tuple[str, ...] = ("127.0.0.1", "::1")
    queue_prefix: str = ""
    music_library_path: str = ""

    sse_heartbeat_seconds: float = 15.0
    vapid_private_key: str = ""
    vapid_public_key: str = ""
    vapid_subject: str = "mailto:hello@echoes.app"

    @property
    def is_production(self) -> bool:
        return self.env == "production"

    @property
    def media_dir(self) -> Path:
        if self.storage_url.startswith("file://"):
            return Path(self.storage_url.removeprefix("file://"))
        return self.var_dir / "media"

    @property
    def music_library_dir(self) -> Path:
        """Where the generated built-in library is built (deterministic, so it may be shared)."""
        return Path(self.music_library_path) if self.music_library_path else self.var_dir / "music"

    @property
    def demo_checkout(self) -> bool:
        """Without a Stripe key, purchases go through the clearly labelled demo checkout."""
        return not self.stripe_secret_key

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("ECHOES_ENV", "development")
        if mode not in ("development", "production", "test"):
            raise ConfigurationError(f"ECHOES_ENV must be development, production or test, not {mode!r}")
        var_dir = Path(env.get("ECHOES_VAR_DIR", str(REPO_ROOT / "var"))).resolve()
        secret = env.get("SECRET_KEY", "")
        if not secret:
            if mode == "production":
                raise ConfigurationError("SECRET_KEY is required when ECHOES_ENV=production")
            secret = load_or_create_secret(var_dir / "secret_key")
        elif len(secret) < 32:
            raise ConfigurationError("SECRET_KEY must be at least 32 characters")

        defaults = cls()
        kwargs: dict[str, object] = {"env": mode, "var_dir": var_dir, "secret_key": secret}

        def text(name: str, attr: str) -> None:
            if env.get(name):
                kwargs[attr] = env[name]

        def number(name: str, attr: str, kind: type = int) -> None:
            raw = env.get(name)
            if raw:
                try:
                    kwargs[attr] = kind(raw)
                except ValueError:
                    raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None

        text("DATABASE_URL", "database_url")
        text("REDIS_URL", "redis_url")
        text("STORAGE_URL", "storage_url")
        text("LOG_LEVEL", "log_level")
        number("DATABASE_POOL_SIZE", "database_pool_size")
        number("MEDIA_URL_TTL", "media_url_ttl")
        number("UPLOAD_MAX_BYTES", "upload_max_bytes")
        number("FREE_TRY_PER_VISITOR", "free_try_per_visitor")
        number("FREE_TRY_PER_IP", "free_try_per_ip")
        number("FREE_TRY_WINDOW_HOURS", "free_try_window_hours")
        number("WORKER_CLIPS_CONCURRENCY", "worker_clips_concurrency")
        number("WORKER_RENDERS_CONCURRENCY", "worker_renders_concurrency")
        number("WORKER_DEFAULT_CONCURRENCY", "worker_default_concurrency")
        number("CLIP_JOB_HEARTBEAT_SECONDS", "clip_job_heartbeat_seconds")
        number("WORKER_SWEEP_SECONDS", "worker_sweep_seconds")
        if env.get("LOG_JSON"):
            kwargs["log_json"] = _bool(env["LOG_JSON"])
        elif mode == "production":
            kwargs["log_json"] = True
        if env.get("MOTION_PROVIDERS"):
            kwargs["motion_providers"] = tuple(
                p.strip().lower() for p in env["MOTION_PROVIDERS"].split(",") if p.strip()
            )
        elif env.get("RUNWAY_API_KEY") or env.get("RUNPOD_API_KEY"):
            configured = []
            if env.get("RUNWAY_API_KEY"):
                configured.append("runway")
            if env.get("RUNPOD_API_KEY") and env.get("RUNPOD_ENDPOINT_ID"):
                configured.append("runpod")
            kwargs["motion_providers"] = (*configured, "local")
        providers = kwargs.get("motion_providers", defaults.motion_providers)
        unknown = set(providers) - {"runway", "runpod", "local"}  # type: ignore[arg-type]
        if unknown or not providers:
            raise ConfigurationError(
                f"MOTION_PROVIDERS must list runway, runpod and/or local; got {sorted(unknown) or 'nothing'}"
            )
        if "runway" in providers and not env.get("RUNWAY_API_KEY"):  # type: ignore[operator]
            raise ConfigurationError("MOTION_PROVIDERS names runway but RUNWAY_API_KEY is not set")
        if "runpod" in providers and not (env.get("RUNPOD_API_KEY") and env.get("RUNPOD_ENDPOINT_ID")):  # type: ignore[operator]
            raise ConfigurationError(
                "MOTION_PROVIDERS names runpod but RUNPOD_API_KEY / RUNPOD_ENDPOINT_ID are not set"
            )
        if env.get("TRUSTED_PROXIES"):
            kwargs["trusted_proxies"] = tuple(
                p.strip() for p in env["TRUSTED_PROXIES"].split(",") if p.strip()
            )
        text("QUEUE_PREFIX", "queue_prefix")
        text("MUSIC_LIBRARY_DIR", "music_library_path")
        text("STRIPE_SECRET_KEY", "stripe_secret_key")
        text("RUNWAY_API_KEY", "runway_api_key")
        text("RUNWAY_API_BASE", "runway_api_base")
        text("RUNWAY_MODEL", "runway_model")
        text("RUNPOD_API_KEY", "runpod_api_key")
        text("RUNPOD_ENDPOINT_ID", "runpod_endpoint_id")
        text("RUNPOD_API_BASE", "runpod_api_base")
        number("PROVIDER_TIMEOUT_SECONDS", "provider_timeout_seconds", float)
        number("PROVIDER_ATTEMPTS", "provider_attempts")
        number("PROVIDER_COOLDOWN_SECONDS", "provider_cooldown_seconds")
        number("PROVIDER_POLL_SECONDS", "provider_poll_seconds", float)
        text("STRIPE_API_BASE", "stripe_api_base")
        text("PUBLIC_URL", "public_url")
        number("SIGNUP_LIMIT_PER_HOUR", "signup_limit_per_hour")
        number("LOGIN_LIMIT_PER_15MIN", "login_limit_per_15min")
        if env.get("CREDIT_PACKS"):
            kwargs["credit_packs"] = parse_packs(env["CREDIT_PACKS"])
        webhook_secret = env.get("STRIPE_WEBHOOK_SECRET", "")
        if kwargs.get("stripe_secret_key") and not webhook_secret:
            raise ConfigurationError("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY")
        if not webhook_secret:
            if mode == "production":
                raise ConfigurationError(
                    "Set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET in production (the demo "
                    "checkout is for development only)"
                )
            webhook_secret = "whsec_" + load_or_create_secret(var_dir / "stripe_webhook_secret")
        kwargs["stripe_webhook_secret"] = webhook_secret
        number("SSE_HEARTBEAT_SECONDS", "sse_heartbeat_seconds", float)
        if float(kwargs.get("sse_heartbeat_seconds", defaults.sse_heartbeat_seconds)) <= 0:  # type: ignore[arg-type]
            raise ConfigurationError("SSE_HEARTBEAT_SECONDS must be a positive number of seconds")
        vapid_key = env.get("VAPID_PRIVATE_KEY", "").replace("\\n", "\n").strip()
        if not vapid_key:
            if mode == "production":
                raise ConfigurationError(
                    "VAPID_PRIVATE_KEY is required when ECHOES_ENV=production (the Web Push "
                    "signing key: a PEM, or a base64url private key; `python -m api "
                    "generate-vapid-keys` prints a new pair)"
                )
            vapid_key = load_or_create_vapid_key(var_dir / "vapid_private_key.pem")
        kwargs["vapid_private_key"] = vapid_key
        text("VAPID_PUBLIC_KEY", "vapid_public_key")
        if mode == "production" and not env.get("VAPID_SUBJECT"):
            raise ConfigurationError(
                "VAPID_SUBJECT is required when ECHOES_ENV=production (mailto:you@example.com "
                "or an https:// URL where push services can reach you)"
            )
        text("VAPID_SUBJECT", "vapid_subject")
        subject = str(kwargs.get("vapid_subject", defaults.vapid_subject))
        if not subject.startswith(("mailto:", "https://")):
            raise ConfigurationError(f"VAPID_SUBJECT must be a mailto: or https:// URL, got {subject!r}")
        kwargs["public_url"] = str(kwargs.get("public_url", defaults.public_url)).rstrip("/")

        url = str(kwargs.get("database_url", defaults.database_url))
        kwargs["database_url"] = normalise_database_url(url)
        storage = str(kwargs.get("storage_url", ""))
        if storage and not storage.startswith("file://"):
            raise ConfigurationError(
                f"STORAGE_URL {storage!r} is not supported yet: only file:///absolute/path "
                "(local disk) is implemented"
            )
        return cls(**kwargs)  # type: ignore[arg-type]


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the asyncpg driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
