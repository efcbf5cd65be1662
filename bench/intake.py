"""Benchmark the photo intake: ``python -m bench.intake``.

Times :func:`normalise_photo` on the phone-sized fixtures and a small JPEG and, interleaved
with them in the same run, the 12 MP JPEG with draft mode switched off (libjpeg decodes
every pixel, Lanczos does the 2:1 reduction): the baseline draft mode is measured against.
It also reports how close the two outputs are, since with draft mode that photo is decoded
at 2016 px and stretched to the stored 2048. Prints the figures and writes them to
``bench/results/intake.json``.
"""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Iterator
from unittest import mock

import PIL
import pillow_heif
from PIL import Image, ImageChops, ImageStat, JpegImagePlugin, features

from api.domain.photos.intake import NormalisedPhoto, normalise_photo
from bench.common import Stats, measure, write_results
from tests.paths import PHOTOS

RUNS = 15
FILES = {
    "phone_12mp_orient6_gps.jpg": "12 MP JPEG, EXIF orientation 6",
    "phone_portrait.jpg": "12 MP JPEG, portrait",
    "iphone.heic": "HEIC 2016x1512, full decode",
    "coffee.jpg": "small JPEG 600x400, no resize",
}
TWELVE_MP = "phone_12mp_orient6_gps.jpg"
NO_DRAFT = f"{TWELVE_MP} without draft"
DECODE_FULL = "decode only: 12 MP JPEG in full"
DECODE_DRAFT = "decode only: 12 MP JPEG at 1/2 (draft)"


@contextlib.contextmanager
def draft_mode_disabled() -> Iterator[None]:
    """Pillow ignores draft requests inside this block: JPEGs decode at full size."""
    with mock.patch.object(JpegImagePlugin.JpegImageFile, "draft", lambda *_: None):
        yield


def normalise_without_draft(data: bytes) -> NormalisedPhoto:
    with draft_mode_disabled():
        return normalise_photo(data)


def decode_only(data: bytes, draft_size: tuple[int, int] | None) -> None:
    with Image.open(io.BytesIO(data)) as image:
        if draft_size:
            image.draft("RGB", draft_size)
        image.load()


def psnr(a: bytes, b: bytes) -> float:
    """Peak signal-to-noise ratio in dB between two JPEGs of the same size."""
    first, second = Image.open(io.BytesIO(a)), Image.open(io.BytesIO(b))
    squares = ImageStat.Stat(ImageChops.difference(first, second)).sum2
    mse = sum(squares) / (first.width * first.height * len(squares))
    return math.inf if mse == 0 else round(10 * math.log10(255**2 / mse), 2)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def main() -> None:
    sources = {name: (PHOTOS / name).read_bytes() for name in FILES}
    twelve_mp = sources[TWELVE_MP]
    cases = {name: (lambda data=data: normalise_photo(data)) for name, data in sources.items()}
    cases[NO_DRAFT] = lambda: normalise_without_draft(twelve_mp)
    cases[DECODE_FULL] = lambda: decode_only(twelve_mp, None)
    cases[DECODE_DRAFT] = lambda: decode_only(twelve_mp, (2016, 1512))

    stats = measure(cases, runs=RUNS)

    outputs = {name: normalise_photo(data) for name, data in sources.items()}
    full = normalise_without_draft(twelve_mp)
    speedup = round(stats[NO_DRAFT].median / stats[TWELVE_MP].median, 2)
    quality = psnr(outputs[TWELVE_MP].jpeg, full.jpeg)

    print(f"median of {RUNS} interleaved runs after one warm-up, ms:")
    for name, figures in stats.items():
        shape = ""
        if name in outputs:
            photo = outputs[name]
            shape = f"{photo.source_width}x{photo.source_height} -> {photo.width}x{photo.height}"
        print(
            f"  {name:42} {ms(figures.median):7.1f}  "
            f"(min {ms(figures.min):.1f}, max {ms(figures.max):.1f})  {shape}"
        )
    print(f"draft mode makes the 12 MP photo {speedup}x faster; outputs within {quality} dB PSNR")

    path = write_results(
        "intake",
        {
            "libraries": {
                "pillow": PIL.__version__,
                "pillow_heif": pillow_heif.__version__,
                "libjpeg_turbo": features.version("libjpeg_turbo"),
            },
            "runs": RUNS,
            "normalise_photo": {
                name: {
                    "label": label,
                    "source": f"{outputs[name].source_width}x{outputs[name].source_height}",
                    "stored": f"{outputs[name].width}x{outputs[name].height}",
                    "bytes_in": len(sources[name]),
                    "jpeg_bytes": len(outputs[name].jpeg),
                    "thumbnail_bytes": len(outputs[name].thumbnail),
                    **summary(stats[name]),
                }
                for name, label in FILES.items()
            },
            "baseline_without_draft": {
                "file": TWELVE_MP,
                "stored": f"{full.width}x{full.height}",
                **summary(stats[NO_DRAFT]),
                "speedup_with_draft": speedup,
                "psnr_db_draft_vs_full": quality,
            },
            "decode_only_12mp": {
                "full_4032x3024": summary(stats[DECODE_FULL]),
                "draft_2016x1512": summary(stats[DECODE_DRAFT]),
            },
        },
    )
    print(f"wrote {path}")


def summary(figures: Stats) -> dict[str, float]:
    return {
        "median_ms": ms(figures.median),
        "min_ms": ms(figures.min),
        "max_ms": ms(figures.max),
    }


if __name__ == "__main__":
    main()
