"""Display images: what an annotator downloads instead of the original, small enough for a thin link.

Pure bytes in, bytes out (Pillow); no database, no blobs. The size recorded is the original's as a browser
shows it, i.e. after its EXIF orientation is applied: boxes are drawn, and stored, in those pixels.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

MAX_SIDE = 1280
TARGET_BYTES = 30_000
QUALITIES = (80, 65, 50, 40, 30)
MIN_SIDE = 480  # a display image is not made smaller than this to meet the byte target
MAX_SHRINKS = 4
BROWSER_FRIENDLY = {"PNG": "image/png", "JPEG": "image/jpeg", "WEBP": "image/webp", "GIF": "image/gif"}
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
_ORIENTATION = 0x0112


class MediaError(Exception):
    """The original cannot be read as the media it claims to be."""


@dataclass(frozen=True)
class DisplayImage:
    data: bytes
    mime_type: str
    width: int  # of the original, as displayed (EXIF orientation applied)
    height: int


def derive_image(data: bytes) -> DisplayImage:
    """A WebP or JPEG (the smaller) within MAX_SIDE², quality lowered until it is under TARGET_BYTES.

    A small, upright, browser-friendly original is kept as it is: re-encoding it would only lose quality.
    """
    try:
        with Image.open(io.BytesIO(data)) as image:
            fmt = image.format or ""
            orientation = int(image.getexif().get(_ORIENTATION, 1) or 1)
            width, height = image.size
            if orientation in _ROTATED:
                width, height = height, width
            frames = getattr(image, "n_frames", 1)
            small = len(data) <= TARGET_BYTES and max(width, height) <= MAX_SIDE
            if fmt in BROWSER_FRIENDLY and small and orientation == 1 and frames == 1:
                return DisplayImage(data, BROWSER_FRIENDLY[fmt], width, height)
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale, much faster
            upright = ImageOps.exif_transpose(image)
            upright.load()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise MediaError(f"not a readable image: {err}") from None
    flat = _flatten(upright)
    flat.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)  # never upscales
    data_out, mime = _smallest(flat)
    return DisplayImage(data_out, mime, width, height)


def _flatten(image: Image.Image) -> Image.Image:
    """RGB, with any transparency laid on white (what the annotator would see on the page anyway)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    if image.mode == "L":
        return image
    return image.convert("RGB")


def _encode(image: Image.Image, fmt: str, quality: int) -> bytes:
    out = io.BytesIO()
    if fmt == "WEBP":
        image.save(out, "WEBP", quality=quality, method=4)
    else:
        image.save(out, "JPEG", quality=quality, optimize=True, progressive=True)
    return out.getvalue()


def _smallest(image: Image.Image) -> tuple[bytes, str]:
    """The best quality that fits TARGET_BYTES at the largest size that can fit it at the lowest quality.

    Sizes step down by the square root of how far over the target the lowest quality is (bytes grow about
    with the pixel count), never below MIN_SIDE; then quality steps down from the top until it fits.
    """
    scaled = image
    lowest = _encode(scaled, "WEBP", QUALITIES[-1])
    for _ in range(MAX_SHRINKS):
        if len(lowest) <= TARGET_BYTES or max(scaled.size) <= MIN_SIDE:
            break
        factor = max(0.5, min(0.9, 0.95 * math.sqrt(TARGET_BYTES / len(lowest))))
        side = max(MIN_SIDE, round(max(scaled.size) * factor))
        scaled = image.copy()
        scaled.thumbnail((side, side), Image.Resampling.LANCZOS)
        lowest = _encode(scaled, "WEBP", QUALITIES[-1])
    for quality in QUALITIES[:-1]:
        webp = _encode(scaled, "WEBP", quality)
        jpeg = _encode(scaled, "JPEG", quality)
        candidate = (webp, "image/webp") if len(webp) <= len(jpeg) else (jpeg, "image/jpeg")
        if len(candidate[0]) <= TARGET_BYTES:
            return candidate
    jpeg = _encode(scaled, "JPEG", QUALITIES[-1])
    return (lowest, "image/webp") if len(lowest) <= len(jpeg) else (jpeg, "image/jpeg")
