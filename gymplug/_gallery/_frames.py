"""Frames to an animated preview with Pillow: each frame checked and downscaled, the file kept under a size cap."""

from __future__ import annotations

import io
from typing import Any, NamedTuple, Optional

from PIL import Image, features

from ._cards import MAX_BYTES, MAX_SIDE

__all__ = ["MAX_BYTES", "MAX_SIDE", "NotAnImage", "Preview", "encode", "to_image"]

_MAX_INPUT_SIDE = 16384  # a frame larger than this is a bug of the env, not a picture
# (quality, keep every n-th frame; 0: the first frame alone), tried in turn until the file fits.
_LADDER = ((80, 1), (60, 2), (40, 4), (30, 0))


class NotAnImage(Exception):
    """render() returned something that is not an RGB(A) image."""


class Preview(NamedTuple):
    """An encoded animation. Immutable."""

    data: bytes
    format: str  # "webp", or "gif" where Pillow has no WebP
    frames: int  # as a decoder counts them: the encoders merge identical neighbours
    size: tuple[int, int]


def to_image(frame: Any) -> Image.Image:
    """A render() result as an RGB image no larger than MAX_SIDE, or NotAnImage saying what it was."""
    import numpy as np

    if not isinstance(frame, np.ndarray):
        raise NotAnImage(f"render() returned {type(frame).__name__}, not an RGB array")
    shape = tuple(frame.shape)
    if len(shape) != 3 or shape[2] not in (3, 4) or not 0 < min(shape[:2]) <= max(shape[:2]) <= _MAX_INPUT_SIDE:
        raise NotAnImage(f"render() returned an array of shape {shape}, not (height, width, 3)")
    if frame.dtype != np.uint8:
        if not np.issubdtype(frame.dtype, np.number):
            raise NotAnImage(f"render() returned an array of {frame.dtype}, not numbers")
        frame = np.clip(frame, 0, 255).astype(np.uint8)
    image = Image.fromarray(np.ascontiguousarray(frame[:, :, :3]))  # uint8 (h, w, 3): RGB
    factor = max(image.size) // MAX_SIDE
    if factor >= 2:  # an integer reduction first: a tenth of the time of a filter on the full frame
        image = image.reduce(factor)
    if max(image.size) > MAX_SIDE:
        scale = MAX_SIDE / max(image.size)
        size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
        image = image.resize(size, Image.Resampling.BOX)
    return image


def _uniform(images: list[Image.Image]) -> list[Image.Image]:
    """Every frame at the first one's size (an env may change its frame size mid-episode)."""
    size = images[0].size
    return [im if im.size == size else im.resize(size, Image.Resampling.BOX) for im in images]


def _save(images: list[Image.Image], fmt: str, duration: int, quality: int) -> bytes:
    buffer = io.BytesIO()
    options: dict[str, Any] = {"save_all": len(images) > 1, "append_images": images[1:], "duration": duration,
                               "loop": 0}
    if fmt == "webp":
        options.update(quality=quality, method=0, allow_mixed=True)  # method 0: the fastest, and small enough
    images[0].save(buffer, "WEBP" if fmt == "webp" else "GIF", **options)
    return buffer.getvalue()


def encode(images: list[Image.Image], fps: Optional[float]) -> Optional[Preview]:
    """An animated WebP (GIF where Pillow has no WebP) of ``images`` under MAX_BYTES, or None if none fits.

    Frames are dropped (and shown longer) and the quality lowered until the file fits; the last
    resort is the first frame alone.
    """
    if not images:
        return None
    images = _uniform(images)
    fmt = "webp" if features.check("webp") else "gif"
    rate = min(50.0, max(1.0, float(fps))) if isinstance(fps, (int, float)) and fps > 0 else 30.0
    for quality, every in _LADDER:
        chosen = images[::every] if every else images[:1]
        data = _save(chosen, fmt, round(1000 * max(every, 1) / rate), quality)
        if len(data) <= MAX_BYTES:
            with Image.open(io.BytesIO(data)) as decoded:
                frames = getattr(decoded, "n_frames", 1)
            return Preview(data, fmt, frames, images[0].size)
    return None
