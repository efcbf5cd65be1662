"""Where a browser fetches a stored object: a URL that expires and cannot be altered."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from datetime import UTC, datetime
from urllib.parse import quote, urlencode, urlsplit

from api.config import S3Settings
from api.storage.base import validate_key


class MediaSigner:
    """Signs and verifies ``/media`` URLs with HMAC-SHA256 over key, expiry and name."""

    def __init__(self, secret: str, *, default_ttl: int = 3600, prefix: str = "/media") -> None:
        self._key = hashlib.sha256(b"echoes-media\x00" + secret.encode()).digest()
        self.default_ttl = default_ttl
        self.prefix = prefix

    def _sig(self, key: str, exp: int, download: str | None) -> str:
        msg = f"{key}\n{exp}\n{download or ''}".encode()
        digest = hmac.new(self._key, msg, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest[:20]).rstrip(b"=").decode()

    def url(
        self, key: str, *, ttl: int | None = None, download: str | None = None, now: float | None = None
    ) -> str:
        exp = int((now if now is not None else time.time()) + (ttl or self.default_ttl))
        params = {"exp": str(exp)}
        if download:
            params["dl"] = download
        params["sig"] = self._sig(key, exp, download)
        return f"{self.prefix}/{quote(key)}?{urlencode(params)}"

    def verify(
        self, key: str, exp: str | None, sig: str | None, download: str | None = None,
        *, now: float | None = None,
    ) -> bool:
        # isdigit() alone lets "²" through to int(); compare_digest raises on non-ASCII str.
        if not exp or not sig or not (exp.isascii() and exp.isdigit() and len(exp) <= 12) or not sig.isascii():
            return False
        expected = self._sig(key, int(exp), download)
        if not hmac.compare_digest(expected, sig):
            return False
        return int(exp) >= (now if now is not None else time.time())


def content_disposition(filename: str) -> str:
    """``attachment`` with the name in ASCII for old clients and in UTF-8 (RFC 6266) for the rest."""
    ascii_name = filename.encode("ascii", "ignore").decode().replace('"', "").replace("\\", "") or "echoes"
    return f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename, safe='')}"


def _hmac(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def _rfc3986(value: str) -> str:
    return quote(value, safe="-_.~")


def sigv4_presign(
    *, method: str, host: str, path: str, query: dict[str, str], access_key_id: str,
    secret_access_key: str, region: str, signed_at: datetime, expires: int,
) -> str:
    """The query string (with ``X-Amz-Signature``) of an AWS Signature V4 presigned request.

    obstore presigns too, but neither lets the URL carry ``response-content-disposition``
    (which must be signed) nor sign for a host other than the one it talks to, and browsers
    reach the store on its public address.
    """
    amz_date = signed_at.strftime("%Y%m%dT%H%M%SZ")
    scope = f"{amz_date[:8]}/{region}/s3/aws4_request"
    params = {
        **query,
        "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
        "X-Amz-Credential": f"{access_key_id}/{scope}",
        "X-Amz-Date": amz_date,
        "X-Amz-Expires": str(expires),
        "X-Amz-SignedHeaders": "host",
    }
    canonical_query = "&".join(f"{_rfc3986(k)}={_rfc3986(v)}" for k, v in sorted(params.items()))
    canonical_request = "\n".join(
        [method, quote(path, safe="/-_.~"), canonical_query, f"host:{host}", "", "host", "UNSIGNED-PAYLOAD"]
    )
    string_to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + secret_access_key).encode(), amz_date[:8])
    for part in (region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    return f"{canonical_query}&X-Amz-Signature={signature}"


class S3Presigner:
    """Presigned GET URLs for objects in the media bucket, on the store's public endpoint."""

    #: S3 refuses presigned URLs that live longer than seven days.
    MAX_EXPIRES = 7 * 24 * 3600
    #: URLs are signed as of the start of a window of this many seconds, so the same object
    #: gets the same URL for a while and browsers and the service worker can cache it.
    WINDOW = 300

    def __init__(self, config: S3Settings, *, default_ttl: int = 3600) -> None:
        self.config = config
        self.default_ttl = default_ttl
        public = urlsplit(config.public_endpoint)
        default_port = {"http": 80, "https": 443}[public.scheme]
        self._host = public.hostname or ""
        if public.port and public.port != default_port:
            self._host = f"{self._host}:{public.port}"
        self._base = f"{public.scheme}://{self._host}"

    def url(
        self, key: str, *, ttl: int | None = None, download: str | None = None, now: float | None = None
    ) -> str:
        moment = int(now if now is not None else time.time())
        signed_at = moment - moment % self.WINDOW
        expires = min((ttl or self.default_ttl) + self.WINDOW, self.MAX_EXPIRES)
        path = f"/{self.config.bucket}/{validate_key(key)}"
        query = {"response-content-disposition": content_disposition(download)} if download else {}
        signed = sigv4_presign(
            method="GET", host=self._host, path=path, query=query,
            access_key_id=self.config.access_key_id, secret_access_key=self.config.secret_access_key,
            region=self.config.region, signed_at=datetime.fromtimestamp(signed_at, UTC), expires=expires,
        )
        return f"{self._base}{quote(path, safe='/-_.~')}?{signed}"


class MediaUrls:
    """The one place that decides how a browser reaches stored media.

    On local disk: ``/media/...`` URLs signed by :class:`MediaSigner` and served by the API.
    On S3: presigned URLs straight to the store (ranges, caching and downloads handled there;
    no media bytes pass through the API). ``verify`` checks ``/media`` URLs in both modes.
    """

    def __init__(self, signer: MediaSigner, presigner: S3Presigner | None = None) -> None:
        self.signer = signer
        self.presigner = presigner

    def url(
        self, key: str, *, ttl: int | None = None, download: str | None = None, now: float | None = None
    ) -> str:
        if self.presigner is not None:
            return self.presigner.url(key, ttl=ttl, download=download, now=now)
        return self.signer.url(key, ttl=ttl, download=download, now=now)

    def verify(
        self, key: str, exp: str | None, sig: str | None, download: str | None = None,
        *, now: float | None = None,
    ) -> bool:
        return self.signer.verify(key, exp, sig, download, now=now)
