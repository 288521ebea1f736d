"""Llama 4 in ollama f63eea3: ``model/models/llama4/process_image.go`` and ``model.go``.

Composite over white. Canvas: ``supportedResolutions`` enumerates tile arrangements with up to
``vision.patch_size`` tiles (14: the patch size, where the reference uses max_patches = 16 - a bug
reproduced here), ``bestResolution`` takes the smallest scale >= 1 (else the largest), candidates
within 1e-6, the smallest area. Resize target: ``maxResolution`` of the image into (min(max(w, 448),
canvas w), min(max(h, 448), canvas h)); bilinear; pad top-left onto a zero canvas; ``Normalize``
channel-first (mean = std = 0.5) over the whole canvas; ``EncodeMultimodal`` reshapes it into tiles
(row-major, each C,H,W) and appends a global tile (the composite resized to tile x tile) when there
is more than one tile. Candidates come from a Go map, so their order is random: when two best
candidates have the same area, Go's pick varies from run to run (recorded in the plan).
"""

from __future__ import annotations

import math

import numpy as np

from parity.decode.go import GoImage
from parity.errors import ParityError
from parity.families import llama4 as geometry
from parity.trace import TraceBuilder

from .imageproc import (
    STANDARD_MEAN,
    STANDARD_STD,
    normalize_chw_ollama,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)

OLLAMA_MAX_UPSCALING_SIZE = 448


def factors(n: int) -> list[int]:
    return sorted({i for i in range(1, n // 2 + 1) if n % i == 0} | {n})


def supported_resolutions(max_chunks: int, tile: int) -> list[tuple[int, int]]:
    """(w, h) canvases; Go's order is a map's (random), so the order here carries no meaning."""
    return [(f * tile, (i // f) * tile) for i in range(max_chunks, 0, -1) for f in factors(i)]


def best_resolution(width: int, height: int, resolutions: list[tuple[int, int]]) -> tuple[tuple[int, int], list]:
    """``bestResolution(img, resolutions, resizeToMaxCanvas=false)`` -> (canvas, tied candidates)."""
    scales = [min(rw / width, rh / height) for rw, rh in resolutions]
    above = [s for s in scales if s >= 1.0]
    best = min(above) if above else max(scales)
    options = [r for r, s in zip(resolutions, scales) if abs(s - best) < 1e-6]
    smallest = min(r[0] * r[1] for r in options)
    tied = sorted({r for r in options if r[0] * r[1] == smallest})
    return tied[0], tied if len(tied) > 1 else []


def max_resolution(width: int, height: int, tw: int, th: int) -> tuple[int, int]:
    """``maxResolution`` -> (w, h)."""
    sw, sh = tw / width, th / height
    if sw < sh:
        return tw, int(min(math.floor(height * sw), th))
    return int(min(math.floor(width * sh), tw)), th


def plan_llama4(height: int, width: int, tile: int, max_chunks: int, per_tile: int) -> tuple[dict, list]:
    """(the plan, the [h, w] canvases tied with the chosen one: Go's map order picks among them)."""
    (cw, ch), tied = best_resolution(width, height, supported_resolutions(max_chunks, tile))
    limit_w = min(max(width, OLLAMA_MAX_UPSCALING_SIZE), cw)
    limit_h = min(max(height, OLLAMA_MAX_UPSCALING_SIZE), ch)
    nw, nh = max_resolution(width, height, limit_w, limit_h)
    grid = (ch // tile, cw // tile)
    plan = geometry.make_plan((height, width), (ch, cw), (nh, nw), grid, geometry.tokens_meta(grid, per_tile))
    return plan.to_dict(), [[h, w] for w, h in tied]


def stages_llama4(img: GoImage, preset, tb: TraceBuilder) -> None:
    tile = int(setting(preset, "tile_size"))
    patch = int(setting(preset, "patch_size"))
    max_chunks = patch  # sic: Go iterates up to vision.patch_size
    h, w = img.size
    if h == 0 or w == 0:  # every scale is +Inf; Inf - Inf is NaN, so bestResolution indexes an empty list
        raise ParityError(f"ollama panics: runtime error: index out of range [0] with length 0 (a {w}x{h} image)")
    per_tile = geometry.tokens_per_tile(tile, patch, float(setting(preset, "pixel_shuffle_ratio", 0.5)))
    plan, tied = plan_llama4(h, w, tile, max_chunks, per_tile)
    tb.add("plan", plan, "plan", note=f"canvases tied in Go's map order (the choice can vary run to run): {tied}"
           if tied else "")
    resized = resize_bilinear_ollama(img, tuple(plan["resized"]))
    tb.add("resize", rgb_of(resized), "HWC")
    ch, cw = plan["canvas"]
    padded = np.zeros((ch, cw, 4), dtype=np.uint8)
    padded[: resized.shape[0], : resized.shape[1]] = resized
    tb.add("pad", rgb_of(padded), "HWC")
    canvas = normalize_chw_ollama(padded, STANDARD_MEAN, STANDARD_STD)
    rows, cols = plan["grid"]
    tiles = canvas.reshape(3, rows, tile, cols, tile).transpose(1, 3, 0, 2, 4).reshape(rows * cols, 3, tile, tile)
    if rows * cols > 1:
        global_tile = normalize_chw_ollama(resize_bilinear_ollama(img, (tile, tile)), STANDARD_MEAN, STANDARD_STD)
        tiles = np.concatenate([tiles, global_tile[None]])
    tb.add("normalize", canvas, "C,H,W canvas")
    tb.add("tiles", tiles, "tiles,C,H,W")
    tb.add("pack", np.ascontiguousarray(tiles), "tiles,C,H,W", note="row-major tiles, then the global tile")
