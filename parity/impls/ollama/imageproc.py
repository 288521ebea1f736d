"""ollama ``model/imageproc/images.go`` at f63eea3: the shared helpers the model pipelines call.

- ``Composite``: draw over opaque white (``parity.decode.go.composite_over_white``);
- ``Resize``: ``kernel.Scale`` of the whole image onto a new ``*image.RGBA`` with ``draw.Over``;
- ``Normalize``: per pixel ``float32(r>>8)/255``, then ``(v - mean) / std``, all in float32, written
  channel-first (R plane, G plane, B plane) or interleaved;
- the mean/std constants (``ClipDefaultMean``... as float32 literals).
"""

from __future__ import annotations

import cv2
import numpy as np

from parity.decode.go import GoImage, composite_over_white, premultiplied_rgba8
from parity.errors import ParityError
from parity.kernels.xdraw import resize_kernel_xdraw
from parity.trace import sealed

CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
STANDARD_MEAN = (0.5, 0.5, 0.5)
STANDARD_STD = (0.5, 0.5, 0.5)


def rgb_of(rgba8: np.ndarray) -> np.ndarray:
    """The RGB bytes of RGBA bytes, as a new contiguous read-only array (a plain byte copy; OpenCV does
    it fast)."""

    rgba8 = np.ascontiguousarray(rgba8, dtype=np.uint8)
    if rgba8.size == 0:
        return sealed(np.zeros(rgba8.shape[:2] + (3,), dtype=np.uint8))
    return sealed(cv2.cvtColor(rgba8, cv2.COLOR_RGBA2RGB))


def resize_bilinear_ollama(img: GoImage | np.ndarray, size_hw: tuple[int, int]) -> np.ndarray:
    """``imageproc.Resize(img, size, ResizeBilinear)`` (or ``draw.BiLinear.Scale`` onto a zero RGBA).

    ``img`` is a decoded GoImage or the RGBA uint8 bytes of an ``*image.RGBA``. Returns RGBA uint8.
    """
    if isinstance(img, GoImage):
        return resize_kernel_xdraw(img.pixels, size_hw, "bilinear", gray=img.alpha_one)
    return resize_kernel_xdraw(img, size_hw, "bilinear")


def normalize_planes_ollama(planes: np.ndarray, mean, std, out: np.ndarray | None = None) -> np.ndarray:
    """The arithmetic of ``imageproc.Normalize`` (rescale=true) on channel-first uint8 (..., 3, H, W):
    ``float32(v)/255``, then ``(v - mean) / std``, all float32. Written into ``out`` when given, else
    into a new read-only array."""
    shape = (3, 1, 1)
    fresh = out is None
    if fresh:
        out = np.empty(planes.shape, dtype=np.float32)
    np.copyto(out, planes, casting="unsafe")
    out /= np.float32(255.0)
    out -= np.asarray(mean, dtype=np.float32).reshape(shape)
    out /= np.asarray(std, dtype=np.float32).reshape(shape)
    return sealed(out) if fresh else out


def normalize_chw_ollama(rgba8: np.ndarray, mean, std) -> np.ndarray:
    """``imageproc.Normalize(img, mean, std, rescale=true, channelFirst=true)`` of an ``*image.RGBA``
    (H, W, 4) uint8 (premultiplied; alpha not read) -> (3, H, W) float32, read-only."""
    return normalize_planes_ollama(np.moveaxis(np.asarray(rgba8)[..., :3], -1, 0), mean, std)


def setting(preset, key: str, ollama_default=None):
    """A value the Go code reads from the GGUF: the ``ollama`` overlay, else the preset's own value,
    else the default the Go code falls back to when the converter did not write the key."""
    overlay = preset.overlay("ollama")
    if key in overlay:
        return overlay[key]
    value = preset.get(key)
    if value is not None:
        return value
    if ollama_default is not None:
        return ollama_default

    raise ParityError(f"preset {preset.name!r} has no value {key!r} needed by the ollama pipeline")


def go_div(a: int, b: int) -> int:
    """Go's integer division (truncates toward zero; Python's // floors)."""
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def pipeline_input(img: GoImage, composite: bool) -> tuple[GoImage, np.ndarray, str]:
    """What a model pipeline reads after decoding: (the Go image it scales, its RGB, a note).

    ``composite``: ``imageproc.Composite`` onto opaque white first (an ``*image.RGBA``); otherwise the
    decoded image itself, whose transparent pixels the scaler sees premultiplied, i.e. over black."""
    if composite:
        rgba = composite_over_white(img)
        return GoImage("*image.RGBA", rgba), rgb_of(rgba), f"Go {img.go_type}; Composite over white"
    rgb = rgb_of(img.pixels if img.pixels.dtype == np.uint8 else premultiplied_rgba8(img))
    return img, rgb, f"Go {img.go_type}; no composite: premultiplied (over black)"
