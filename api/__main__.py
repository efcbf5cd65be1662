"""``python -m api migrate | check-migrations | serve``."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.config import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api", description="Echoes API commands")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply every migration to DATABASE_URL")
    sub.add_parser("check-migrations", help="fail if the models and the database schema differ")
    sub.add_parser("seed-music", help="generate the built-in music library (once) and record it")
    export = sub.add_parser("openapi", help="write the OpenAPI schema as JSON (no servers needed)")
    export.add_argument("--out", default="-", help="file to write, or - for standard output")
    sub.add_parser("generate-vapid-keys", help="print a new Web Push key pair for production")
    admin = sub.add_parser("promote-admin", help="give an existing account the admin role")
    admin.add_argument("email")
    serve = sub.add_parser("serve", help="run the HTTP API with uvicorn")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    if args.command == "openapi":
        return export_openapi(args.out)
    if args.command == "generate-vapid-keys":
        return generate_vapid_keys()
    settings = Settings.from_env()

    if args.command == "migrate":
        from api.db.migrate import upgrade

        upgrade(settings.database_url)
        print("database is at the latest migration")
        return 0
    if args.command == "seed-music":
        import asyncio

        return asyncio.run(seed_music(settings))
    if args.command == "check-migrations":
        from api.db.migrate import check

        diff = check(settings.database_url)
        for item in diff:
            print(item)
        return 1 if diff else 0

    if args.command == "promote-admin":
        import asyncio

        return asyncio.run(promote_admin(settings, args.email))

    import uvicorn

    if settings.prometheus_multiproc_dir:
        prepare_metrics_dir(settings.prometheus_multiproc_dir)
    uvicorn.run(
        "api.app:create_app", factory=True, host=args.host, port=args.port, workers=args.workers,
        **proxy_options(settings),
        log_level="warning",
        access_log=False,
        # Event streams never end on their own: give them a moment, then close them.
        timeout_graceful_shutdown=5,
    )
    return 0


def prepare_metrics_dir(path: str) -> None:
    """Start each container's metrics afresh: files of processes from a previous run would
    otherwise be merged into this run's counters."""
    import shutil
    from pathlib import Path

    shutil.rmtree(path, ignore_errors=True)
    Path(path).mkdir(parents=True)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """Who may say who the client is: uvicorn takes the rightmost X-Forwarded-For address
    that is not in TRUSTED_PROXIES (addresses or CIDR networks), so a visitor's own header
    entries to the left of what our proxies appended are ignored."""
    return {"proxy_headers": True, "forwarded_allow_ips": ",".join(settings.trusted_proxies)}


def export_openapi(out: str) -> int:
    """The schema depends only on the routes, so it is built from a throwaway test config."""
    import json
    import tempfile

    from api.app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings.from_env({"ECHOES_ENV": "test", "ECHOES_VAR_DIR": tmp}))
        schema = app.openapi_schema.to_schema()
    text = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    if out == "-":
        sys.stdout.write(text)
    else:
        with open(out, "w") as fh:
            fh.write(text)
    return 0


def generate_vapid_keys() -> int:
    """Print VAPID_PRIVATE_KEY (PEM, newlines escaped for an env file) and its public key."""
    import base64

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    print("VAPID_PRIVATE_KEY=" + pem.strip().replace("\n", "\\n"))
    print("VAPID_PUBLIC_KEY=" + base64.urlsafe_b64encode(public).rstrip(b"=").decode())
    return 0


async def seed_music(settings: Settings) -> int:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from api.domain.music.services import seed_builtin_library
    from api.storage import open_storage

    engine = create_async_engine(settings.database_url)
    try:
        async with async_sessionmaker(engine)() as session:
            count = await seed_builtin_library(session, open_storage(settings), settings.music_library_dir)
    finally:
        await engine.dispose()
    print(f"music library ready: {count} tracks")
    return 0


async def promote_admin(settings: Settings, email: str) -> int:
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from api.db import models as m

    engine = create_async_engine(settings.database_url)
    try:
        async with engine.begin() as conn:
            result = await conn.execute(
                sa.update(m.User).where(m.User.email == email.strip().lower()).values(role=m.UserRole.ADMIN)
            )
    finally:
        await engine.dispose()
    if result.rowcount == 0:
        print(f"no account with the email {email}", file=sys.stderr)
        return 1
    print(f"{email} is now an admin")
    return 0


if __name__ == "__main__":
    sys.exit(main())
