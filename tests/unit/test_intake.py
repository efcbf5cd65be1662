"""Photo intake: every shared fixture behaves as the fixtures README says, and the rules
behind it (sniffing, limits, orientation, colour, metadata, draft decoding) hold."""

from __future__ import annotations

import functools
import io
import resource
import struct
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageFile, ImageStat, JpegImagePlugin

from api.domain.photos.intake import (
    DEFAULT_LIMITS,
    IntakeLimits,
    NormalisedPhoto,
    normalise_photo,
    read_limited,
    sniff_format,
)
from api.errors import EchoesError, InvalidInput, UnsupportedMedia, UploadTooLarge
from tests.paths import PHOTOS

# name -> (source format, source size after orientation, stored size)
ACCEPTED = {
    "astronaut.jpg": ("jpeg", (512, 512), (512, 512)),
    "coffee.jpg": ("jpeg", (600, 400), (600, 400)),
    "chelsea.jpg": ("jpeg", (451, 300), (451, 300)),
    "rocket.jpg": ("jpeg", (640, 427), (640, 427)),
    "hubble.jpg": ("jpeg", (1000, 872), (1000, 872)),
    "phone_12mp_orient6_gps.jpg": ("jpeg", (3024, 4032), (1536, 2048)),
    "phone_portrait.jpg": ("jpeg", (3024, 4032), (1536, 2048)),
    "coffee_alpha.png": ("png", (600, 400), (600, 400)),
    "astronaut.webp": ("webp", (512, 512), (512, 512)),
    "iphone.heic": ("heic", (2016, 1512), (2016, 1512)),
    "chelsea_grey.jpg": ("jpeg", (451, 300), (451, 300)),
    "coffee_cmyk.jpg": ("jpeg", (600, 400), (600, 400)),
}

# name -> (error type, part of the message that tells the person what is wrong)
REFUSED = {
    "bad_truncated.jpg": (InvalidInput, "incomplete or damaged"),
    "bad_not_an_image.jpg": (UnsupportedMedia, "not a photo Echoes can read"),
    "bad_tiny.jpg": (InvalidInput, "only 16\N{MULTIPLICATION SIGN}16 pixels"),
    "bad_animated.gif": (UnsupportedMedia, "animated GIF"),
    "bad_script.svg": (UnsupportedMedia, "SVG drawing"),
    "bad_bomb_40000x40000.png": (InvalidInput, "megapixels"),
}

SNIFFED = {
    **{name: source_format for name, (source_format, _, _) in ACCEPTED.items()},
    "bad_truncated.jpg": "jpeg",
    "bad_not_an_image.jpg": None,
    "bad_tiny.jpg": "jpeg",
    "bad_animated.gif": "gif",
    "bad_script.svg": "svg",
    "bad_bomb_40000x40000.png": "png",
}

ALLOWED_JPEG_MARKERS = {
    0xD8,  # SOI
    0xE0,  # APP0, JFIF only (checked separately)
    0xDB,  # DQT
    0xC0,  # SOF0 baseline
    0xC4,  # DHT
    0xDD,  # DRI
    0xDA,  # SOS
    0xD9,  # EOI
}


def fixture_bytes(name: str) -> bytes:
    return (PHOTOS / name).read_bytes()


@functools.cache
def normalised(name: str) -> NormalisedPhoto:
    return normalise_photo(fixture_bytes(name))


def decode(jpeg: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(jpeg))
    image.load()
    return image


def encode(image: Image.Image, image_format: str, **params: object) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, image_format, **params)
    return buffer.getvalue()


def jpeg_markers(data: bytes) -> list[tuple[int, bytes]]:
    """Every marker in a JPEG with its segment payload, entropy-coded data skipped."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers: list[tuple[int, bytes]] = [(0xD8, b"")]
    position = 2
    while position < len(data) - 1:
        assert data[position] == 0xFF, f"lost marker sync at byte {position}"
        marker = data[position + 1]
        if marker == 0xD9:
            markers.append((marker, b""))
            break
        (length,) = struct.unpack(">H", data[position + 2 : position + 4])
        markers.append((marker, data[position + 4 : position + 2 + length]))
        position += 2 + length
        if marker == 0xDA:
            while not (
                data[position] == 0xFF and data[position + 1] not in {0x00, *range(0xD0, 0xD8)}
            ):
                position += 1
    return markers


def mean_colour(image: Image.Image) -> list[float]:
    return ImageStat.Stat(image.convert("RGB")).mean


def difference(a: Image.Image, b: Image.Image) -> float:
    """Mean absolute difference per channel of two images brought to one small size."""
    size = (96, 128) if a.height > a.width else (128, 96)
    a_small = a.convert("RGB").resize(size, Image.Resampling.BOX)
    b_small = b.convert("RGB").resize(size, Image.Resampling.BOX)
    a_bytes, b_bytes = a_small.tobytes(), b_small.tobytes()
    return sum(abs(x - y) for x, y in zip(a_bytes, b_bytes, strict=True)) / len(a_bytes)


def png_header_only(width: int, height: int) -> bytes:
    """A well-formed PNG whose header claims ``width`` x ``height`` but holds one scanline."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    scanline = zlib.compress(b"\x00" * (width + 1))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", scanline)
        + chunk(b"IEND", b"")
    )


class LoadSpy:
    """Counts pixel decodes: any call to Pillow's ``ImageFile.load``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = ImageFile.ImageFile.load

        def load(image: ImageFile.ImageFile) -> Any:
            self.calls += 1
            return original(image)

        monkeypatch.setattr(ImageFile.ImageFile, "load", load)


def test_every_fixture_photo_has_an_expected_outcome() -> None:
    on_disk = {path.name for path in PHOTOS.iterdir() if path.suffix != ".md"}
    assert on_disk == set(ACCEPTED) | set(REFUSED)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_accepted_fixture_is_stored_as_an_rgb_jpeg_of_the_right_size(name: str) -> None:
    source_format, source_size, stored_size = ACCEPTED[name]

    photo = normalised(name)

    assert photo.source_format == source_format
    assert (photo.source_width, photo.source_height) == source_size
    assert (photo.width, photo.height) == stored_size
    stored = decode(photo.jpeg)
    assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", stored_size)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_refused_fixture_answers_4xx_with_a_message_saying_why(name: str) -> None:
    error_type, reason = REFUSED[name]

    with pytest.raises(EchoesError) as refused:
        normalise_photo(fixture_bytes(name))

    assert type(refused.value) is error_type
    assert refused.value.status_code in (415, 422)
    assert reason in refused.value.detail
    assert "Echoes" in refused.value.detail or "Please" in refused.value.detail


@pytest.mark.parametrize("name", sorted(SNIFFED))
def test_sniffing_reads_the_content_not_the_file_name(name: str) -> None:
    assert sniff_format(fixture_bytes(name)[:1024]) == SNIFFED[name]


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\xef\xbb\xbf  <svg xmlns='http://www.w3.org/2000/svg'/>", "svg"),
        (b'<?xml version="1.0"?>\n<!-- drawn by hand -->\n<svg width="1">', "svg"),
        (
            b'<?xml version="1.0"?><!DOCTYPE svg PUBLIC "-//W3C//DTD SVG 1.1//EN" '
            b'"http://www.w3.org/Graphics/SVG/1.1/DTD/svg11.dtd"><svg>',
            "svg",
        ),
        (b"<!doctype html><html><body><svg></svg></body></html>", None),
        (b"<?xml version='1.0'?><note>not a drawing</note>", None),
        (b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x18ftypmif1\x00\x00\x00\x00mif1heic", "heic"),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1miaf", None),
        (b"\x00\x00\x00\x1cftypmif1\x00\x00\x00\x00mif1avifmiaf", None),
        (b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00qt  ", None),
        (b"RIFF\x00\x00\x00\x00WAVEfmt ", None),
        (b"GIF87a\x01\x00", "gif"),
        (b"\xff\xd8", None),
        (b"", None),
    ],
)
def test_sniffing_recognises_signatures_and_nothing_else(head: bytes, expected: str | None) -> None:
    assert sniff_format(head) == expected


def test_sideways_phone_photo_comes_out_upright() -> None:
    photo = normalised("phone_12mp_orient6_gps.jpg")
    stored = decode(photo.jpeg)
    with Image.open(PHOTOS / "phone_12mp_orient6_gps.jpg") as source:
        assert source.size == (4032, 3024)
        source.draft("RGB", (1008, 756))
        upright = source.transpose(Image.Transpose.ROTATE_270)
        upside_down = source.transpose(Image.Transpose.ROTATE_90)

    assert stored.size == (1536, 2048)
    assert difference(stored, upright) < 4
    assert difference(stored, upside_down) > 4 * difference(stored, upright)


@pytest.mark.parametrize("name", sorted(ACCEPTED))
def test_nothing_but_pixels_survives_in_photo_or_thumbnail(name: str) -> None:
    photo = normalised(name)

    for output in (photo.jpeg, photo.thumbnail):
        markers = jpeg_markers(output)
        assert {marker for marker, _ in markers} <= ALLOWED_JPEG_MARKERS
        assert all(body.startswith(b"JFIF\x00") for marker, body in markers if marker == 0xE0)
        image = decode(output)
        assert len(image.getexif()) == 0
        assert not {"exif", "xmp", "icc_profile", "comment", "photoshop"} & set(image.info)


def test_marker_check_sees_gps_exif_and_comments_in_the_sources() -> None:
    gps_markers = {
        marker for marker, _ in jpeg_markers(fixture_bytes("phone_12mp_orient6_gps.jpg"))
    }
    rocket_markers = {marker for marker, _ in jpeg_markers(fixture_bytes("rocket.jpg"))}
    with Image.open(PHOTOS / "phone_12mp_orient6_gps.jpg") as source:
        assert source.getexif().get_ifd(0x8825), "the fixture should carry GPS tags"

    assert 0xE1 in gps_markers
    assert 0xFE in rocket_markers


@pytest.mark.parametrize(
    ("name", "thumbnail_size"),
    [
        ("phone_12mp_orient6_gps.jpg", (384, 512)),
        ("iphone.heic", (512, 384)),
        ("coffee.jpg", (512, 341)),
        ("astronaut.webp", (512, 512)),
        ("chelsea.jpg", (451, 300)),
    ],
)
def test_thumbnail_is_at_most_512_on_its_longest_side_and_never_enlarged(
    name: str, thumbnail_size: tuple[int, int]
) -> None:
    thumbnail = decode(normalised(name).thumbnail)

    assert (thumbnail.format, thumbnail.mode, thumbnail.size) == ("JPEG", "RGB", thumbnail_size)


def test_thumbnail_shows_the_same_picture_upright() -> None:
    photo = normalised("phone_12mp_orient6_gps.jpg")

    assert difference(decode(photo.thumbnail), decode(photo.jpeg)) < 3


def test_transparent_pixels_become_white() -> None:
    image = Image.new("RGBA", (400, 300), (0, 0, 0, 0))
    image.paste((200, 20, 20, 255), (200, 0, 400, 300))

    stored = decode(normalise_photo(encode(image, "PNG")).jpeg)

    assert all(channel >= 250 for channel in stored.getpixel((50, 150)))
    red, green, blue = stored.getpixel((350, 150))
    assert red > 180 and green < 50 and blue < 50


def test_semi_transparent_fixture_is_composited_onto_white() -> None:
    opaque = mean_colour(decode(normalised("coffee.jpg").jpeg))

    flattened = mean_colour(decode(normalised("coffee_alpha.png").jpeg))

    expected = [value * 200 / 255 + 255 * 55 / 255 for value in opaque]
    assert flattened == pytest.approx(expected, abs=4)


def test_cmyk_jpeg_comes_out_in_the_colours_of_the_original() -> None:
    original = mean_colour(decode(normalised("coffee.jpg").jpeg))

    converted = decode(normalised("coffee_cmyk.jpg").jpeg)

    assert converted.mode == "RGB"
    assert mean_colour(converted) == pytest.approx(original, abs=3)
    assert difference(converted, decode(normalised("coffee.jpg").jpeg)) < 4


def test_greyscale_jpeg_becomes_grey_rgb_of_the_same_brightness() -> None:
    colour = decode(normalised("chelsea.jpg").jpeg)

    grey = decode(normalised("chelsea_grey.jpg").jpeg)

    red, green, blue = mean_colour(grey)
    assert grey.mode == "RGB"
    assert red == pytest.approx(green, abs=1) and green == pytest.approx(blue, abs=1)
    assert red == pytest.approx(ImageStat.Stat(colour.convert("L")).mean[0], abs=3)


def test_sixteen_bit_greyscale_png_keeps_its_tones() -> None:
    row = (10000).to_bytes(2, "little") * 150 + (40000).to_bytes(2, "little") * 150
    scan = Image.frombytes("I;16", (300, 300), row * 300)

    stored = decode(normalise_photo(encode(scan, "PNG")).jpeg)

    assert stored.getpixel((75, 150)) == pytest.approx((39, 39, 39), abs=2)
    assert stored.getpixel((225, 150)) == pytest.approx((156, 156, 156), abs=2)


def test_srgb_profile_is_applied_and_not_stored() -> None:
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    tagged = encode(Image.new("RGB", (300, 300), (40, 120, 200)), "JPEG", icc_profile=srgb)

    stored = decode(normalise_photo(tagged).jpeg)

    assert "icc_profile" not in stored.info
    assert stored.getpixel((150, 150)) == pytest.approx((40, 120, 200), abs=3)


def test_damaged_colour_profile_is_ignored_not_fatal() -> None:
    tagged = encode(Image.new("RGB", (300, 300), (40, 120, 200)), "JPEG", icc_profile=b"not icc")

    stored = decode(normalise_photo(tagged).jpeg)

    assert stored.getpixel((150, 150)) == pytest.approx((40, 120, 200), abs=3)


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_exif_orientation_is_applied_to_png_and_webp_too(image_format: str) -> None:
    sideways = Image.new("RGB", (400, 300), (0, 0, 255))
    sideways.paste((255, 0, 0), (0, 0, 200, 300))
    exif = Image.Exif()
    exif[0x0112] = 6

    photo = normalise_photo(encode(sideways, image_format, exif=exif.tobytes(), lossless=True))

    stored = decode(photo.jpeg)
    assert (photo.source_width, photo.source_height) == (300, 400)
    assert stored.size == (300, 400)
    assert stored.getpixel((150, 50))[0] > 200  # the left (red) half is now on top
    assert stored.getpixel((150, 350))[2] > 200


def test_bomb_is_refused_from_its_header_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = fixture_bytes("bad_bomb_40000x40000.png")
    loads = LoadSpy(monkeypatch)
    peak_before_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()

    with pytest.raises(InvalidInput, match="megapixels"):
        normalise_photo(data)

    assert time.perf_counter() - started < 0.2
    assert loads.calls == 0
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak_before_kib < 64 * 1024


def test_image_over_our_pixel_limit_but_under_pillows_is_refused_by_our_check(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    loads = LoadSpy(monkeypatch)

    with pytest.raises(InvalidInput) as refused:
        normalise_photo(png_header_only(9000, 9000))

    assert "9000\N{MULTIPLICATION SIGN}9000 pixels (81 megapixels)" in refused.value.detail
    assert "up to 50 megapixels" in refused.value.detail
    assert loads.calls == 0


def test_pixel_limit_is_the_callers_to_set() -> None:
    strict = IntakeLimits(max_pixels=10_000_000)

    with pytest.raises(InvalidInput, match="4032\N{MULTIPLICATION SIGN}3024 pixels"):
        normalise_photo(fixture_bytes("phone_12mp_orient6_gps.jpg"), strict)


def test_default_pixel_limit_admits_a_50_megapixel_phone_photo() -> None:
    assert 8160 * 6120 <= DEFAULT_LIMITS.max_pixels
    assert 4032 * 3024 <= DEFAULT_LIMITS.max_pixels


def test_twelve_megapixel_jpeg_is_decoded_at_half_size_by_draft_mode(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    decoded_sizes: list[tuple[str, tuple[int, int]]] = []
    draft = JpegImagePlugin.JpegImageFile.draft

    def recording_draft(
        image: JpegImagePlugin.JpegImageFile, mode: str | None, size: tuple[int, int] | None
    ) -> Any:
        result = draft(image, mode, size)
        decoded_sizes.append((image.mode, image.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", recording_draft)

    photo = normalise_photo(fixture_bytes("phone_12mp_orient6_gps.jpg"))

    assert decoded_sizes == [("RGB", (2016, 1512))]
    assert (photo.width, photo.height) == (1536, 2048)


def test_photo_already_small_enough_is_decoded_in_full(monkeypatch: pytest.MonkeyPatch) -> None:
    drafts: list[object] = []
    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", lambda *args: drafts.append(args))

    normalise_photo(fixture_bytes("hubble.jpg"))

    assert drafts == []


def test_multi_picture_jpeg_from_a_phone_is_a_still_photo() -> None:
    frames = [Image.new("RGB", (400, 300), colour) for colour in ("green", "black")]

    photo = normalise_photo(encode(frames[0], "MPO", save_all=True, append_images=frames[1:]))

    assert photo.source_format == "jpeg"
    assert decode(photo.jpeg).getpixel((200, 150))[1] > 100


@pytest.mark.parametrize(("image_format", "name"), [("PNG", "PNG"), ("WEBP", "WebP")])
def test_animation_is_refused_but_a_single_frame_is_fine(image_format: str, name: str) -> None:
    frames = [Image.new("RGB", (300, 300), colour) for colour in ("red", "blue")]
    animated = encode(frames[0], image_format, save_all=True, append_images=frames[1:])
    still = encode(frames[0], image_format)

    with pytest.raises(
        UnsupportedMedia, match=f"This file is an animated {name}. Please upload a still photo"
    ):
        normalise_photo(animated)
    assert normalise_photo(still).source_format == image_format.lower()


def test_still_gif_is_refused_as_gif_without_calling_it_animated() -> None:
    still = encode(Image.new("RGB", (300, 300), "red"), "GIF")

    with pytest.raises(UnsupportedMedia) as refused:
        normalise_photo(still)

    assert "GIF" in refused.value.detail
    assert "animated" not in refused.value.detail


def test_truncated_png_is_refused_as_damaged() -> None:
    data = fixture_bytes("coffee_alpha.png")

    with pytest.raises(InvalidInput, match="incomplete or damaged"):
        normalise_photo(data[: len(data) // 2])


def test_photo_too_long_and_narrow_to_store_is_refused() -> None:
    panorama = encode(Image.new("RGB", (4000, 300), "grey"), "JPEG")

    with pytest.raises(InvalidInput, match="too long and narrow"):
        normalise_photo(panorama)


def test_smaller_limits_give_smaller_outputs() -> None:
    limits = IntakeLimits(max_side=1024, thumb_side=256, min_side=128)

    photo = normalise_photo(fixture_bytes("phone_portrait.jpg"), limits)

    assert (photo.width, photo.height) == (768, 1024)
    assert decode(photo.jpeg).size == (768, 1024)
    assert decode(photo.thumbnail).size == (192, 256)


def test_oversized_bytes_are_refused_with_413() -> None:
    with pytest.raises(UploadTooLarge, match="larger than 1 KB") as refused:
        normalise_photo(fixture_bytes("coffee.jpg"), IntakeLimits(max_bytes=1024))

    assert refused.value.status_code == 413
    assert refused.value.code == "UPLOAD_TOO_LARGE"


def test_empty_upload_is_refused() -> None:
    with pytest.raises(InvalidInput, match="empty"):
        normalise_photo(b"")


def test_limits_that_cannot_work_are_rejected() -> None:
    with pytest.raises(ValueError, match="min_side"):
        IntakeLimits(min_side=4096)


class CountingStream:
    """An async byte stream that counts how many chunks were pulled from it."""

    def __init__(self, chunk: bytes, count: int) -> None:
        self.chunk = chunk
        self.count = count
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for _ in range(self.count):
            self.pulled += 1
            yield self.chunk


async def test_read_limited_stops_pulling_as_soon_as_the_limit_is_passed() -> None:
    stream = CountingStream(b"x" * 1000, count=1000)

    with pytest.raises(UploadTooLarge, match=r"larger than 4\.88 KB"):
        await read_limited(stream, max_bytes=5000)

    assert stream.pulled == 6


async def test_read_limited_returns_a_stream_exactly_at_the_limit() -> None:
    stream = CountingStream(b"0123456789", count=500)

    data = await read_limited(stream, max_bytes=5000)

    assert data == b"0123456789" * 500
    assert stream.pulled == 500


async def test_read_limited_message_names_the_product_limit() -> None:
    stream = CountingStream(b"x" * (1024 * 1024), count=30)

    with pytest.raises(UploadTooLarge, match="larger than 25 MB"):
        await read_limited(stream, max_bytes=DEFAULT_LIMITS.max_bytes)

    assert stream.pulled == 26
