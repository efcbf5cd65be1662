"""The one place Echoes reads its environment.

``Settings.from_env()`` turns environment variables into a frozen, typed object; every other
module receives settings (or a part of them) as an argument. Each variable switches one part
of the system from its embedded default to a real service (see the README's table).

Secrets: in production (``ECHOES_ENV=production``) a missing ``SECRET_KEY`` is a start-up
error. In development and test the embedded default generates one on first use and keeps it
under ``var/`` so every process (API, worker) and every restart signs with the same key.
"""

from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Literal
from urllib.parse import parse_qs, urlsplit

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


@dataclass(frozen=True, kw_only=True)
class RateLimits:
    """How many of each costly action may be started per hour: per account, or per client
    network (IPv4 address, IPv6 /64) for the anonymous free try. Each field is set by
    ``RATE_LIMIT_<FIELD>`` (``RATE_LIMIT_CREATE_PROJECT_PER_HOUR``...); :mod:`api.ratelimit`
    holds the rules that use them."""

    create_project_per_hour: int = 30
    upload_photo_per_hour: int = 600
    generate_clips_per_hour: int = 30
    regenerate_clip_per_hour: int = 60
    render_video_per_hour: int = 30
    upload_music_per_hour: int = 20
    start_free_try_per_hour: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> RateLimits:
        return cls(**_positive_ints(cls, "RATE_LIMIT_", env))


@dataclass(frozen=True, kw_only=True)
class StorageQuotas:
    """Bytes one account may keep, checked before an upload is stored. Set by
    ``STORAGE_QUOTA_PHOTO_BYTES`` and ``STORAGE_QUOTA_MUSIC_BYTES``."""

    photo_bytes: int = 5 * 1024**3
    music_bytes: int = 1024**3

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> StorageQuotas:
        return cls(**_positive_ints(cls, "STORAGE_QUOTA_", env))


_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


@dataclass(frozen=True, kw_only=True)
class S3Settings:
    """An S3-compatible bucket for media: ``STORAGE_URL=s3://BUCKET?endpoint=URL&region=NAME``,
    credentials from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY``.

    Browsers fetch media straight from the store through presigned URLs, so those URLs are
    made for ``S3_PUBLIC_ENDPOINT`` (the address browsers can reach, default: the endpoint),
    while the API and workers talk to ``endpoint``. Requests are path-style
    (``endpoint/BUCKET/key``), which every S3-compatible server understands.
    """

    bucket: str
    endpoint: str
    region: str
    access_key_id: str = field(repr=False)
    secret_access_key: str = field(repr=False)
    public_endpoint: str

    @classmethod
    def from_env(cls, storage_url: str, env: Mapping[str, str]) -> S3Settings:
        parsed = urlsplit(storage_url)
        query = parse_qs(parsed.query, keep_blank_values=True)
        unknown = set(query) - {"endpoint", "region"}
        if unknown or parsed.path not in ("", "/") or not _BUCKET_RE.match(parsed.netloc):
            raise ConfigurationError(
                f"STORAGE_URL {storage_url!r} must look like s3://BUCKET?endpoint=https://host&region=NAME "
                "(a bucket name of 3-63 lower-case letters, digits, dots and dashes; endpoint and region optional)"
            )
        region = query.get("region", ["us-east-1"])[-1] or "us-east-1"
        endpoint = (query.get("endpoint", [""])[-1] or f"https://s3.{region}.amazonaws.com").rstrip("/")
        public_endpoint = (env.get("S3_PUBLIC_ENDPOINT") or endpoint).rstrip("/")
        for name, value in (("endpoint", endpoint), ("S3_PUBLIC_ENDPOINT", public_endpoint)):
            url = urlsplit(value)
            if url.scheme not in ("http", "https") or not url.netloc or url.path or url.query:
                raise ConfigurationError(f"the S3 {name} must be an http(s)://host[:port] URL, got {value!r}")
        key_id, secret = env.get("AWS_ACCESS_KEY_ID", ""), env.get("AWS_SECRET_ACCESS_KEY", "")
        if not key_id or not secret:
            raise ConfigurationError(
                "STORAGE_URL is an s3:// URL: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY must be set"
            )
        return cls(
            bucket=parsed.netloc, endpoint=endpoint, region=region,
            access_key_id=key_id, secret_access_key=secret, public_endpoint=public_endpoint,
        )


@dataclass(frozen=True, kw_only=True)
class MediaSafety:
    """How untrusted media is checked. Each field is set by its upper-cased name
    (``PHOTO_MODERATION``, ``PHOTO_NSFW_THRESHOLD``, ``MUSIC_TRANSCODE_TIMEOUT_SECONDS``...)."""

    #: Classify every photo locally before anything is stored or sent to a provider.
    photo_moderation: bool = True
    #: A photo whose open_nsfw score (0..1) reaches this is refused.
    photo_nsfw_threshold: float = 0.8
    #: Wall-clock limit of one music transcode; a slower one fails the track.
    music_transcode_timeout_seconds: int = 120
    #: Music transcodes one worker process runs at once (the rest wait their turn).
    music_transcode_concurrency: int = 2
    #: Largest transcoded track written (ffmpeg stops there and the track fails).
    music_max_output_bytes: int = 40 * 1024 * 1024

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> MediaSafety:
        values: dict[str, object] = {}
        if env.get("PHOTO_MODERATION"):
            values["photo_moderation"] = _bool(env["PHOTO_MODERATION"])
        raw = env.get("PHOTO_NSFW_THRESHOLD")
        if raw:
            try:
                threshold = float(raw)
            except ValueError:
                threshold = -1.0
            if not 0.0 <= threshold <= 1.0:
                raise ConfigurationError(f"PHOTO_NSFW_THRESHOLD must be a number from 0 to 1, got {raw!r}")
            values["photo_nsfw_threshold"] = threshold
        for name in ("music_transcode_timeout_seconds", "music_transcode_concurrency", "music_max_output_bytes"):
            raw = env.get(name.upper())
            if not raw:
                continue
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigurationError(f"{name.upper()} must be a whole number of at least 1, got {raw!r}")
            values[name] = int(raw)
        return cls(**values)  # type: ignore[arg-type]


def _positive_ints(cls: type, prefix: str, env: Mapping[str, str]) -> dict[str, int]:
    values = {}
    for f in fields(cls):
        name = prefix + f.name.upper()
        raw = env.get(name)
        if not raw:
            continue
        try:
            values[f.name] = int(raw)
        except ValueError:
            raise ConfigurationError(f"{name} must be a whole number, got {raw!r}") from None
        if values[f.name] < 1:
            raise ConfigurationError(f"{name} must be at least 1, got {raw!r}")
    return values


def _bool(value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off", ""}:
        return False
    raise ConfigurationError(f"expected a boolean, got {value!r}")


def load_or_create_secret(path: Path, *, nbytes: int = 32, prefix: str = "") -> str:
    """Read a secret kept in ``path``, creating it (mode 0600) the first time.

    Creation uses O_EXCL so two processes starting together agree on one secret. With a
    ``prefix`` (``whsec_``) the file holds the whole value; a file written before the prefix
    was stored is rewritten with it (every process computes the same value).
    """
    try:
        value = _read_secret(path)
    except FileNotFoundError:
        pass
    else:
        if value.startswith(prefix):
            return value
        value = prefix + value
        staging = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(value + "\n")
        os.replace(staging, path)
        return value
    path.parent.mkdir(parents=True, exist_ok=True)
    value = prefix + secrets.token_urlsafe(nbytes)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_secret(path, nbytes=nbytes, prefix=prefix)
    with os.fdopen(fd, "w") as fh:
        fh.write(value + "\n")
    return value


def _read_secret(path: Path) -> str:
    """The file's value, waiting briefly while another process is still writing it."""
    for _ in range(50):
        value = path.read_text().strip()
        if value:
            return value
        time.sleep(0.01)
    raise ConfigurationError(f"{path} is empty: delete it to have a new secret generated")


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
    #: Set when ``STORAGE_URL`` is an ``s3://`` URL; local disk otherwise.
    s3: S3Settings | None = None

    media_url_ttl: int = 3600
    upload_max_bytes: int = 25 * 1024 * 1024

    free_try_per_visitor: int = 1
    free_try_per_ip: int = 3
    free_try_window_hours: int = 24
    #: How long a stored object no row points to is kept before the orphan sweep deletes it
    #: (uploads are stored a moment before their row is committed).
    orphan_media_grace_hours: int = 24

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
    render_job_heartbeat_seconds: int = 120
    worker_sweep_seconds: int = 30
    #: Queues this worker process serves (empty: all); ``python -m worker --queues`` overrides.
    worker_queues: tuple[str, ...] = ()
    #: Bearer token for the API's ``/metrics`` (required there in production).
    metrics_token: str = ""
    #: Each worker process serves Prometheus metrics here (0: off). Bind privately.
    worker_metrics_port: int = 0
    worker_metrics_host: str = "127.0.0.1"
    #: Where processes of one container pool their metrics (prometheus_client multiprocess mode).
    prometheus_multiproc_dir: str = ""

    credit_packs: tuple[CreditPack, ...] = parse_packs(DEFAULT_PACKS)
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = ""
    public_url: str = "http://localhost:3000"
    rate_limits: RateLimits = RateLimits()
    media_safety: MediaSafety = MediaSafety()
    #: Let outbound requests to URLs we did not choose (push endpoints, provider outputs)
    #: reach loopback over plain http: for tests with local fakes, refused in production.
    outbound_allow_loopback: bool = False
    storage_quotas: StorageQuotas = StorageQuotas()
    signup_limit_per_hour: int = 10
    #: Failed log-ins allowed per (e-mail, client address), and per client address, in 15 min.
    login_limit_per_15min: int = 20
    login_ip_limit_per_15min: int = 60
    access_token_minutes: int = 15
    session_days: int = 30
    #: How long the refresh token just replaced still gets a new access token (two tabs
    #: refreshing at once); after that, presenting it ends the session as a stolen copy.
    refresh_reuse_grace_seconds: int = 10

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
        """Without a Stripe key, purchases go through the clearly labelled demo checkout
        (never in production, which refuses to start without the key)."""
        return not self.stripe_secret_key and not self.is_production

    @property
    def stripe_livemode(self) -> bool:
        """Whether the events we accept must be live-mode ones (a live key), or test-mode."""
        return self.stripe_secret_key.startswith("sk_live_")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        mode = env.get("ECHOES_ENV", "development")
        if mode not in ("development", "production", "test"):
            raise ConfigurationError(f"ECHOES_ENV must be development, production or test, not {mode!r}")
        if mode == "production":
            missing = missing_production_settings(env)
            if missing:
                raise ConfigurationError(
                    "ECHOES_ENV=production needs these settings, which are not set: "
                    + ", ".join(missing) + " (see .env.example and the README's configuration table)"
                )
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
        number("ORPHAN_MEDIA_GRACE_HOURS", "orphan_media_grace_hours")
        if int(kwargs.get("orphan_media_grace_hours", defaults.orphan_media_grace_hours)) < 1:  # type: ignore[call-overload]
            raise ConfigurationError("ORPHAN_MEDIA_GRACE_HOURS must be at least 1 (hour)")
        number("WORKER_CLIPS_CONCURRENCY", "worker_clips_concurrency")
        number("WORKER_RENDERS_CONCURRENCY", "worker_renders_concurrency")
        number("WORKER_DEFAULT_CONCURRENCY", "worker_default_concurrency")
        number("CLIP_JOB_HEARTBEAT_SECONDS", "clip_job_heartbeat_seconds")
        number("RENDER_JOB_HEARTBEAT_SECONDS", "render_job_heartbeat_seconds")
        number("WORKER_SWEEP_SECONDS", "worker_sweep_seconds")
        if env.get("WORKER_QUEUES"):
            kwargs["worker_queues"] = parse_name_list(env["WORKER_QUEUES"])
        text("METRICS_TOKEN", "metrics_token")
        number("WORKER_METRICS_PORT", "worker_metrics_port")
        text("WORKER_METRICS_HOST", "worker_metrics_host")
        text("PROMETHEUS_MULTIPROC_DIR", "prometheus_multiproc_dir")
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
            kwargs["trusted_proxies"] = parse_trusted_proxies(env["TRUSTED_PROXIES"])
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
        kwargs["rate_limits"] = RateLimits.from_env(env)
        kwargs["media_safety"] = MediaSafety.from_env(env)
        if env.get("OUTBOUND_ALLOW_LOOPBACK"):
            kwargs["outbound_allow_loopback"] = _bool(env["OUTBOUND_ALLOW_LOOPBACK"])
            if kwargs["outbound_allow_loopback"] and mode == "production":
                raise ConfigurationError("OUTBOUND_ALLOW_LOOPBACK is for tests; it cannot be on in production")
        kwargs["storage_quotas"] = StorageQuotas.from_env(env)
        number("SIGNUP_LIMIT_PER_HOUR", "signup_limit_per_hour")
        number("LOGIN_LIMIT_PER_15MIN", "login_limit_per_15min")
        number("LOGIN_IP_LIMIT_PER_15MIN", "login_ip_limit_per_15min")
        number("ACCESS_TOKEN_MINUTES", "access_token_minutes")
        number("SESSION_DAYS", "session_days")
        number("REFRESH_REUSE_GRACE_SECONDS", "refresh_reuse_grace_seconds")
        for name, attr in (("ACCESS_TOKEN_MINUTES", "access_token_minutes"), ("SESSION_DAYS", "session_days")):
            if int(kwargs.get(attr, getattr(defaults, attr))) < 1:  # type: ignore[call-overload]
                raise ConfigurationError(f"{name} must be at least 1")
        if env.get("CREDIT_PACKS"):
            kwargs["credit_packs"] = parse_packs(env["CREDIT_PACKS"])
        kwargs["stripe_webhook_secret"] = _stripe_webhook_secret(env, mode, var_dir)
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
        if storage.startswith("s3://"):
            kwargs["s3"] = S3Settings.from_env(storage, env)
        elif storage and not storage.startswith("file://"):
            raise ConfigurationError(
                f"STORAGE_URL {storage!r} is not supported: use file:///absolute/path (local disk) "
                "or s3://BUCKET?endpoint=URL&region=NAME"
            )
        return cls(**kwargs)  # type: ignore[arg-type]


WEBHOOK_SECRET_PREFIX = "whsec_"


def _stripe_webhook_secret(env: Mapping[str, str], mode: str, var_dir: Path) -> str:
    """``STRIPE_WEBHOOK_SECRET``; production needs it and ``STRIPE_SECRET_KEY`` both.

    Outside production, without a Stripe key, the demo checkout signs its events with a
    generated ``whsec_…`` secret kept in ``var/stripe_webhook_secret``.
    """
    secret_key = env.get("STRIPE_SECRET_KEY", "")
    webhook_secret = env.get("STRIPE_WEBHOOK_SECRET", "")
    if mode == "production" and not (secret_key and webhook_secret):
        raise ConfigurationError(
            "Set both STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET when ECHOES_ENV=production "
            "(the demo checkout is for development only)"
        )
    if secret_key and not webhook_secret:
        raise ConfigurationError("STRIPE_WEBHOOK_SECRET is required with STRIPE_SECRET_KEY")
    if webhook_secret:
        return webhook_secret
    return load_or_create_secret(var_dir / "stripe_webhook_secret", prefix=WEBHOOK_SECRET_PREFIX)


#: Settings production cannot start without; the embedded default generates or fakes each.
PRODUCTION_REQUIRED = (
    "SECRET_KEY", "DATABASE_URL", "REDIS_URL", "PUBLIC_URL", "STRIPE_SECRET_KEY",
    "STRIPE_WEBHOOK_SECRET", "VAPID_PRIVATE_KEY", "VAPID_SUBJECT",
)


def missing_production_settings(env: Mapping[str, str]) -> list[str]:
    """Every required production setting that is unset, so one start-up names them all."""
    missing = [name for name in PRODUCTION_REQUIRED if not env.get(name, "").strip()]
    if env.get("STORAGE_URL", "").startswith("s3://"):
        missing += [n for n in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY") if not env.get(n, "").strip()]
    return missing


def parse_name_list(value: str) -> tuple[str, ...]:
    """``"a, b,,c"`` -> ``("a", "b", "c")``: comma-separated names, lower-cased."""
    return tuple(p.strip().lower() for p in value.split(",") if p.strip())


def parse_trusted_proxies(spec: str) -> tuple[str, ...]:
    """Addresses or networks (CIDR) of the proxies whose ``X-Forwarded-For`` is believed.

    The client address (and so every per-client limit) is the rightmost ``X-Forwarded-For``
    entry not in this list. ``*`` is refused: trusting everyone would take the leftmost entry,
    which any client can write.
    """
    entries = tuple(p.strip() for p in spec.split(",") if p.strip())
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigurationError(
                f"TRUSTED_PROXIES entry {entry!r} is not an IP address or network (CIDR); list "
                "the addresses of the proxies in front of the API"
            ) from None
    return entries


def normalise_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and use the asyncpg driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
