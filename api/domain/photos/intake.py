"""Photo intake: the one path every uploaded photo takes before anything is stored.

Bytes go in; a normalised JPEG and a thumbnail come out, or a domain error from
:mod:`api.errors` whose message a person can act on. The order of the steps is what makes
it safe:

1. The upload is read with a running size check (:func:`read_limited`), so an oversized
   body is refused without being buffered.
2. The format comes from the content's magic bytes (:func:`sniff_format`), never from the
   file name or the declared content type, and Pillow is only allowed to parse the file
   with the one plugin that format names.
3. The dimensions in the header are checked (pixel limit, smallest side, aspect) before a
   single pixel is decoded, so a decompression bomb costs a header parse.
4. Only then are pixels decoded: JPEGs through libjpeg's DCT scaling (``draft``) when the
   photo is much larger than what is stored, everything else in full.
5. The pixels are turned into sRGB RGB (colour profile applied, transparency flattened onto
   white, CMYK and greyscale converted), resized, turned upright by the EXIF orientation
   and encoded from scratch. Nothing from the source file except its pixels survives:
   no EXIF (GPS), XMP, ICC profile or comment is written.

:func:`normalise_photo` is CPU-bound and synchronous; callers run it in a worker thread.
Pillow releases the GIL while decoding, resizing and encoding, so threads do run in
parallel. Peak memory is bounded by ``max_pixels``: about 4 bytes a pixel, twice over,
for a non-JPEG at the limit (a JPEG that large is decoded at a quarter or an eighth).
"""

from __future__ import annotations

import io
import re
import struct
from collections.abc import AsyncIterable

import msgspec
import pillow_heif
from PIL import Image, ImageCms, ImageFile

from api.errors import InvalidInput, UnsupportedMedia, UploadTooLarge

pillow_heif.register_heif_opener()

ACCEPTED_FORMATS_TEXT = "JPEG, PNG, WebP or HEIC"

_PILLOW_PLUGIN = {"jpeg": "JPEG", "png": "PNG", "webp": "WEBP", "heic": "HEIF"}
_DISPLAY_NAME = {"jpeg": "JPEG", "png": "PNG", "webp": "WebP", "heic": "HEIC"}
_TIMES = "\N{MULTIPLICATION SIGN}"
_MIB = 1024 * 1024

_SNIFF_BYTES = 1024
"""Enough of the head for every signature, including an SVG behind an XML prologue."""

_HEVC_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs"})
_GENERIC_HEIF_BRANDS = frozenset({b"mif1", b"msf1"})
_AV1_BRANDS = frozenset({b"avif", b"avis"})

_SVG_START = re.compile(
    rb"\A(?:\xef\xbb\xbf)?\s*"
    rb"(?:<\?xml[^>]*>\s*)?"
    rb"(?:(?:<!--.*?-->|<!doctype\s+svg[^>\[]*(?:\[.*?\])?\s*>)\s*)*"
    rb"<svg[\s>/]",
    re.IGNORECASE | re.DOTALL,
)

_UNREADABLE = (OSError, SyntaxError, ValueError, EOFError, RuntimeError, struct.error)
"""What Pillow and pillow-heif raise for a file that is damaged in any way."""

_EXIF_ORIENTATION_TAG = 0x0112
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SIDEWAYS = frozenset({5, 6, 7, 8})

_DRAFT_MIN_FRACTION = 0.97
"""How far below the stored size a JPEG may be decoded by DCT scaling.

libjpeg scales by 1/2, 1/4 or 1/8 only, and the 12 MP photos phones take (4032 or 4000 px
wide) halve to 2016 or 2000 px, just short of the 2048 px we store. Decoding at half size
and stretching the last 1.6-2.4% costs no detail the eye or the video model can tell
apart (the result is within 48 dB PSNR of a full decode and a 2:1 Lanczos resize), and
the whole normalisation takes about half as long (``python -m bench.intake`` measures both).
"""

_THUMBNAIL_REDUCING_GAP = 2.0
"""Pillow's own thumbnail default: a cheap integer reduce first, then Lanczos the rest."""

_WHITE = (255, 255, 255)


class IntakeLimits(msgspec.Struct, frozen=True):
    """The product's limits for one uploaded photo; the defaults are the real ones.

    ``max_pixels`` bounds the memory a decode may take. 50 MP admits every phone camera's
    full-resolution output, the 48-50 MP modes included (8064x6048 is 48.8 MP, 8160x6120
    is 49.9 MP), and refuses anything that would need more than about 200 MB just to hold
    the decoded pixels.
    """

    max_bytes: int = 25 * _MIB
    max_pixels: int = 50_000_000
    min_side: int = 256
    max_side: int = 2048
    thumb_side: int = 512
    jpeg_quality: int = 90

    def __post_init__(self) -> None:
        if min(self.max_bytes, self.max_pixels, self.min_side, self.thumb_side) < 1:
            raise ValueError("intake limits must be positive")
        if self.min_side > self.max_side:
            raise ValueError("min_side must not exceed max_side")
        if not 1 <= self.jpeg_quality <= 95:
            raise ValueError("jpeg_quality must be between 1 and 95")


DEFAULT_LIMITS = IntakeLimits()


class NormalisedPhoto(msgspec.Struct, frozen=True):
    """A photo ready to store: upright sRGB JPEGs with no metadata at all."""

    jpeg: bytes
    thumbnail: bytes
    width: int
    height: int
    source_format: str
    source_width: int
    source_height: int


async def read_limited(chunks: AsyncIterable[bytes], max_bytes: int) -> bytes:
    """Read a byte stream whole, refusing it as soon as it grows past ``max_bytes``.

    The chunk that crosses the limit is the last one pulled, so a client streaming a
    multi-gigabyte body costs at most ``max_bytes`` plus one chunk of memory.
    """
    parts: list[bytes] = []
    total = 0
    async for chunk in chunks:
        total += len(chunk)
        if total > max_bytes:
            raise UploadTooLarge(_too_large_message(max_bytes), maxBytes=max_bytes)
        parts.append(chunk)
    return b"".join(parts)


def sniff_format(head: bytes) -> str | None:
    """Name the format of a file from its first bytes, whatever the file is called.

    Returns ``"jpeg"``, ``"png"``, ``"webp"`` or ``"heic"`` for the formats we accept,
    ``"gif"`` or ``"svg"`` for two we refuse by name, and ``None`` for anything else.
    The first kilobyte is always enough.
    """
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if _is_hevc_heif(head):
        return "heic"
    if _SVG_START.match(head):
        return "svg"
    return None


def _is_hevc_heif(head: bytes) -> bool:
    """True for an ISO-BMFF ``ftyp`` box naming an HEVC (HEIC) or generic HEIF brand.

    AVIF shares the container but carries AV1, which our pillow-heif build cannot decode,
    so a file that only names AV1 brands is not HEIC.
    """
    if head[4:8] != b"ftyp" or len(head) < 12:
        return False
    box_end = min(int.from_bytes(head[:4], "big"), len(head))
    brands = {head[8:12]} | {head[i : i + 4] for i in range(16, box_end - 3, 4)}
    if brands & _HEVC_BRANDS:
        return True
    return bool(brands & _GENERIC_HEIF_BRANDS) and not brands & _AV1_BRANDS


def normalise_photo(data: bytes, limits: IntakeLimits = DEFAULT_LIMITS) -> NormalisedPhoto:
    """Turn an uploaded file into a stored photo and its thumbnail, or refuse it.

    Raises :class:`UploadTooLarge` (413), :class:`UnsupportedMedia` (415) for anything that
    is not a still JPEG, PNG, WebP or HEIC, and :class:`InvalidInput` (422) for a photo of
    an accepted kind that cannot be used: damaged, too small, too many pixels, or too long
    and narrow to fit the stored size.
    """
    if len(data) > limits.max_bytes:
        raise UploadTooLarge(_too_large_message(limits.max_bytes), maxBytes=limits.max_bytes)
    if not data:
        raise InvalidInput("The file is empty. Please choose a photo to upload.")
    source_format = _accepted_format(data)

    with _open(data, source_format, limits) as image:
        header_size = image.size
        target = _check_dimensions(header_size, limits)
        if source_format == "jpeg" and target != header_size:
            _decode_jpeg_near(image, target)
        _load(image)
        orientation = _orientation(image)
        pixels = _to_srgb(image)

    if pixels.size != target:
        pixels = pixels.resize(target, Image.Resampling.LANCZOS)
    if orientation in _UPRIGHT:
        pixels = pixels.transpose(_UPRIGHT[orientation])
    thumbnail_size = _fit(pixels.size, limits.thumb_side)
    thumbnail = (
        pixels.resize(
            thumbnail_size, Image.Resampling.LANCZOS, reducing_gap=_THUMBNAIL_REDUCING_GAP
        )
        if thumbnail_size != pixels.size
        else pixels
    )
    source_width, source_height = header_size[::-1] if orientation in _SIDEWAYS else header_size
    return NormalisedPhoto(
        jpeg=_encode_jpeg(pixels, limits.jpeg_quality),
        thumbnail=_encode_jpeg(thumbnail, limits.jpeg_quality),
        width=pixels.width,
        height=pixels.height,
        source_format=source_format,
        source_width=source_width,
        source_height=source_height,
    )


def _accepted_format(data: bytes) -> str:
    """The sniffed format if we accept it; otherwise refuse, naming what the file is."""
    sniffed = sniff_format(data[:_SNIFF_BYTES])
    if sniffed is not None and sniffed in _PILLOW_PLUGIN:
        return sniffed
    if sniffed == "gif":
        if _is_animated_gif(data):
            raise UnsupportedMedia(
                f"This file is an animated GIF. Please upload a still photo "
                f"({ACCEPTED_FORMATS_TEXT})."
            )
        raise UnsupportedMedia(
            f"This file is a GIF, which Echoes does not take. Please upload the photo as "
            f"{ACCEPTED_FORMATS_TEXT}."
        )
    if sniffed == "svg":
        raise UnsupportedMedia(
            f"This file is an SVG drawing, not a photo. Please upload a photo "
            f"({ACCEPTED_FORMATS_TEXT})."
        )
    raise UnsupportedMedia(
        f"This file is not a photo Echoes can read, whatever its name says. Please upload a "
        f"{ACCEPTED_FORMATS_TEXT} photo."
    )


def _is_animated_gif(data: bytes) -> bool:
    """Whether a GIF has a second frame; found by skipping frame data, never decoding it."""
    try:
        with Image.open(io.BytesIO(data), formats=["GIF"]) as gif:
            return bool(getattr(gif, "is_animated", False))
    except (Image.DecompressionBombError, *_UNREADABLE):
        return False


def _open(data: bytes, source_format: str, limits: IntakeLimits) -> ImageFile.ImageFile:
    """Parse the header with the one Pillow plugin the sniffed format names; no pixels yet.

    Pillow raises its own ``DecompressionBombError`` for sizes past twice its global
    ``MAX_IMAGE_PIXELS``; that is the same refusal as ours, so it gets our message.
    Our limit, which is lower, is checked by :func:`_check_dimensions`.
    """
    name = _DISPLAY_NAME[source_format]
    try:
        image = Image.open(io.BytesIO(data), formats=[_PILLOW_PLUGIN[source_format]])
    except Image.DecompressionBombError as error:
        raise InvalidInput(
            f"This image claims to be over {_megapixels(2 * Image.MAX_IMAGE_PIXELS)} "
            f"megapixels, far more than any photo; Echoes takes photos of up to "
            f"{_megapixels(limits.max_pixels)} megapixels."
        ) from error
    except _UNREADABLE as error:
        raise InvalidInput(
            f"This file starts like a {name} but could not be read: it is damaged. Please "
            f"export the photo again and upload the new copy."
        ) from error
    if source_format in ("png", "webp") and getattr(image, "is_animated", False):
        image.close()
        raise UnsupportedMedia(
            f"This file is an animated {name}. Please upload a still photo "
            f"({ACCEPTED_FORMATS_TEXT})."
        )
    return image


def _check_dimensions(size: tuple[int, int], limits: IntakeLimits) -> tuple[int, int]:
    """Refuse sizes we cannot use, from the header alone; return the size to store.

    The stored size is in the file's own orientation: rotating does not change the
    shortest or longest side, so the checks and the scaling hold either way up.
    """
    width, height = size
    if width * height > limits.max_pixels:
        raise InvalidInput(
            f"This image claims to be {width}{_TIMES}{height} pixels "
            f"({_megapixels(width * height)} megapixels); Echoes takes photos of up to "
            f"{_megapixels(limits.max_pixels)} megapixels. Please upload a smaller copy."
        )
    if min(size) < limits.min_side:
        raise InvalidInput(
            f"This photo is only {width}{_TIMES}{height} pixels; Echoes needs at least "
            f"{limits.min_side} pixels on its shortest side."
        )
    target = _fit(size, limits.max_side)
    if min(target) < limits.min_side:
        raise InvalidInput(
            f"This photo is {width}{_TIMES}{height} pixels, too long and narrow to animate: "
            f"scaled to {limits.max_side} pixels on its longest side it would be under "
            f"{limits.min_side} on its shortest. Please crop it closer to a square, 16:9 or "
            f"9:16."
        )
    return target


def _fit(size: tuple[int, int], longest: int) -> tuple[int, int]:
    """``size`` scaled so its longest side is at most ``longest``; never enlarged."""
    width, height = size
    if max(width, height) <= longest:
        return size
    scale = longest / max(width, height)
    if width >= height:
        return longest, max(1, round(height * scale))
    return max(1, round(width * scale)), longest


def _decode_jpeg_near(image: ImageFile.ImageFile, target: tuple[int, int]) -> None:
    """Ask libjpeg to decode at the smallest 1/2, 1/4 or 1/8 scale still close to ``target``.

    Pillow picks the scale from the size it is given (the largest power of two that the
    integer ratio of the sizes allows), so asking for exactly ``size // scale`` gets that
    scale and no other. The final resize makes up the rest, exactly to ``target``.
    """
    needed = max(target) * _DRAFT_MIN_FRACTION
    scale = next((s for s in (8, 4, 2) if max(image.size) / s >= needed), 1)
    if scale > 1:
        image.draft(image.mode, (image.width // scale, image.height // scale))


def _load(image: ImageFile.ImageFile) -> None:
    try:
        image.load()
    except _UNREADABLE as error:
        raise InvalidInput(
            "This photo could not be read to the end: the file is incomplete or damaged. "
            "Please upload it again, or export it again from your photo app."
        ) from error


def _orientation(image: Image.Image) -> int:
    """The EXIF orientation (1-8); a missing, odd or unreadable value means upright.

    pillow-heif has already applied a HEIC's own rotation and reset this tag, so the same
    rule holds for every format.
    """
    try:
        orientation = image.getexif().get(_EXIF_ORIENTATION_TAG, 1)
    except _UNREADABLE:
        return 1
    return orientation if orientation in _UPRIGHT else 1


def _to_srgb(image: Image.Image) -> Image.Image:
    """The decoded pixels as opaque 8-bit RGB in sRGB.

    Transparency is flattened onto white, like a photo on paper. An embedded colour profile
    (Display P3 from iPhones, Adobe RGB from cameras, the press profile of a CMYK file) is
    applied rather than dropped, since the stored JPEG carries none and would otherwise
    show the wrong colours. Pillow already undoes the inverted CMYK that Adobe writes, so a
    CMYK file without a profile converts correctly by Pillow's own formula.
    """
    icc_profile = image.info.get("icc_profile")
    pixels = image
    if pixels.mode.startswith("I"):
        pixels = _sixteen_bit_grey_to_l(pixels)
    if pixels.has_transparency_data:
        rgba = pixels.convert("RGBA")
        pixels = Image.new("RGB", rgba.size, _WHITE)
        pixels.paste(rgba, mask=rgba.getchannel("A"))
    elif pixels.mode not in ("RGB", "L", "CMYK"):
        pixels = pixels.convert("RGB")
    if icc_profile:
        managed = _apply_profile(pixels, icc_profile)
        if managed is not None:
            return managed
    return pixels if pixels.mode == "RGB" else pixels.convert("RGB")


def _sixteen_bit_grey_to_l(image: Image.Image) -> Image.Image:
    """16-bit greyscale (archival scans) to 8-bit; Pillow's own conversion clips at 255."""
    return image.convert("I").point(lambda value: value / 257).convert("L")


def _apply_profile(image: Image.Image, icc_profile: bytes) -> Image.Image | None:
    """The pixels converted from their embedded profile to sRGB; ``None`` if it cannot be.

    A profile that is damaged or does not match the pixels (an RGB profile on greyscale
    data) is ignored, and the pixels are taken to be sRGB already, as browsers do. Both
    profiles are made per call: LittleCMS profile handles are not safe to share between
    the worker threads this runs in, and making them costs microseconds.
    """
    try:
        source_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
        return ImageCms.profileToProfile(
            image,
            source_profile,
            ImageCms.createProfile("sRGB"),
            renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC,
            outputMode="RGB",
            flags=ImageCms.Flags.BLACKPOINTCOMPENSATION,
        )
    except (ImageCms.PyCMSError, OSError, ValueError):
        return None


def _encode_jpeg(image: Image.Image, quality: int) -> bytes:
    """Encode pixels alone. Pillow copies some metadata (the JPEG comment) from
    ``image.info`` when saving, so the info is emptied first."""
    image.info = {}
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=quality, optimize=True)
    return buffer.getvalue()


def _too_large_message(max_bytes: int) -> str:
    return (
        f"This file is larger than {_megabytes(max_bytes)}, the most Echoes takes for one "
        f"photo. Please upload a smaller copy; phone photos are usually 2-8 MB."
    )


def _megabytes(size: int) -> str:
    if size >= _MIB:
        return f"{size / _MIB:.3g} MB"
    if size >= 1024:
        return f"{size / 1024:.3g} KB"
    return f"{size} bytes"


def _megapixels(pixels: int) -> str:
    return f"{pixels / 1_000_000:,.4g}"
