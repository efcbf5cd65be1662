"""Media storage behind one async interface, and the URLs browsers fetch media from.

Keys are unguessable (a random 128-bit token in every key) and never leave the API except
inside a URL that expires and whose key, expiry and download name cannot be altered: on
local disk (the embedded default) ``/media/<key>?exp=<unix>&sig=<hmac>`` served by the API;
on S3 a presigned GET URL straight to the bucket. :func:`open_storage` and
:func:`media_urls` are the one place that picks, from ``Settings``.
"""

from __future__ import annotations

from api.config import Settings
from api.storage.base import (
    CONTENT_TYPES,
    ObjectNotFound,
    Storage,
    content_type_for,
    new_key,
    validate_key,
)
from api.storage.local import LocalStorage
from api.storage.s3 import S3Storage
from api.storage.urls import MediaSigner, MediaUrls, S3Presigner, content_disposition

__all__ = [
    "CONTENT_TYPES",
    "LocalStorage",
    "MediaSigner",
    "MediaUrls",
    "ObjectNotFound",
    "S3Presigner",
    "S3Storage",
    "Storage",
    "content_disposition",
    "content_type_for",
    "media_urls",
    "new_key",
    "open_storage",
    "validate_key",
]


def open_storage(settings: Settings) -> Storage:
    if settings.s3 is not None:
        return S3Storage(settings.s3)
    return LocalStorage(settings.media_dir)


def media_urls(settings: Settings, signer: MediaSigner) -> MediaUrls:
    """``signer`` signs the API's own ``/media`` URLs (its key comes from the secret key)."""
    presigner = S3Presigner(settings.s3, default_ttl=settings.media_url_ttl) if settings.s3 else None
    return MediaUrls(signer, presigner)
