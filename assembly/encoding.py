"""The one set of encoder settings every stored clip is made with.

Every clip Echoes stores — whichever provider made it — is re-encoded with exactly these
settings. Identical codec parameters (profile, level, size, fps, time base, GOP layout) are
what let a later render stream-copy clip bodies and join them with re-encoded transition
pieces without touching the bodies. Change a value here and old clips can no longer be
joined losslessly with new ones, so treat this as a format version.
"""

from __future__ import annotations

import msgspec

ASPECT_SIZES: dict[str, tuple[int, int]] = {
    "16:9": (1280, 720),
    "9:16": (720, 1280),
    "1:1": (960, 960),
}


class ClipEncoding(msgspec.Struct, frozen=True, kw_only=True):
    """H.264 settings shared by clips and by the pieces a smart render re-encodes."""

    fps: int = 24
    codec: str = "libx264"
    profile: str = "high"
    level: str = "4.0"
    pix_fmt: str = "yuv420p"
    preset: str = "veryfast"
    crf: int = 20
    # A closed GOP with a keyframe every half second: a smart render can start or end a
    # stream copy on any 0.5 s boundary, at a small cost in file size.
    gop_frames: int = 12
    bframes: int = 2
    timescale: int = 12288
    version: int = 1

    def x264_params(self) -> str:
        return ":".join(
            [
                f"keyint={self.gop_frames}",
                f"min-keyint={self.gop_frames}",
                "scenecut=0",
                "open-gop=0",
                f"bframes={self.bframes}",
            ]
        )

    def video_args(self, *, faststart: bool = True) -> list[str]:
        """Output options for one H.264 video stream in these settings."""
        args = [
            "-c:v", self.codec,
            "-preset", self.preset,
            "-crf", str(self.crf),
            "-profile:v", self.profile,
            "-level:v", self.level,
            "-pix_fmt", self.pix_fmt,
            "-x264-params", self.x264_params(),
            "-r", str(self.fps),
            "-video_track_timescale", str(self.timescale),
            "-color_primaries", "bt709",
            "-color_trc", "bt709",
            "-colorspace", "bt709",
            "-color_range", "tv",
        ]
        if faststart:
            args += ["-movflags", "+faststart"]
        return args


CLIP_ENCODING = ClipEncoding()


def size_for_aspect(aspect: str) -> tuple[int, int]:
    """Output (width, height) for a project aspect such as ``"16:9"``."""
    try:
        return ASPECT_SIZES[aspect]
    except KeyError:
        raise ValueError(f"unknown aspect {aspect!r}; expected one of {sorted(ASPECT_SIZES)}") from None
