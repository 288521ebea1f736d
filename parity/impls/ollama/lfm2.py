"""LFM2-VL in ollama f63eea3: ``model/models/lfm2/process_image.go`` (``ImageProcessor``) and ``model.go``
(``EncodeMultimodal``, ``PostTokenize``).

Composite over white; ``smartResize`` and ``shouldSplit`` in float64 with ``math.RoundToEven`` (as
transformers); the grid from ``targetRatios`` (loop order, then ``slices.SortFunc`` by area: Go's pdqsort,
``parity.families.tile_ratios.sort_pdq_go``) and ``gridLayout`` (float64 walk, a later grid wins a tie when
the image area exceeds half the grid's); ``imageproc.Resize`` bilinear (x/image ``draw.BiLinear``) to the tile
grid, tiles cut by ``draw.Draw`` (a copy), each ``Normalize``d channel-first; the thumbnail (the smart size,
resized from the composite) follows when ``use_thumbnail`` and the grid is not 1x1. A small image is one
bilinear resize to the smart size. Each image is fed as ``FromFloats(data, W, H, C)``: (C, H, W).

The GGUF values (``vision.*``) are what ``convert/convert_lfm2_vl.go`` writes: the checkpoint's processor
values, with the same defaults as transformers.
"""

from __future__ import annotations

import numpy as np

from parity.arrays import stack_or_tuple
from parity.decode.go import GoImage
from parity.families import lfm2_vl as geometry
from parity.families.qwen2_vl import fit_pixel_budget
from parity.families.tile_ratios import closest_grid_f64, ratios_go
from parity.trace import TraceBuilder

from .imageproc import normalize_chw_ollama, resize_bilinear_ollama, rgb_of, setting


def _round_even(x: float) -> int:
    return round(x)  # math.RoundToEven on a float64 = Python's round


def smart_resize_ollama(height: int, width: int, patch: int, ds: int, min_tokens: int,
                        max_tokens: int) -> tuple[int, int]:
    """``smartResize`` -> (h, w) (Go returns (w, h))."""
    tf = patch * ds
    min_pixels = min_tokens * patch * patch * ds * ds
    max_pixels = max_tokens * patch * patch * ds * ds
    h_bar = max(tf, _round_even(height / tf) * tf)
    w_bar = max(tf, _round_even(width / tf) * tf)
    return fit_pixel_budget(height, width, h_bar, w_bar, tf, min_pixels, max_pixels)  # Go's float64 steps alike


def should_split_ollama(height: int, width: int, patch: int, ds: int, max_tokens: int, tolerance: float,
                        splitting: bool, min_tiles: int, max_tiles: int) -> bool:
    if not splitting or (min_tiles == 1 and max_tiles == 1):
        return False
    tf = patch * ds
    h_bar = max(patch, _round_even(height / tf) * tf)
    w_bar = max(patch, _round_even(width / tf) * tf)
    limit = float(max_tokens * patch * patch * ds * ds) * float(np.float32(tolerance))  # float64(c.Float(...))
    return float(h_bar * w_bar) > limit


def _settings(preset) -> dict:
    """``newImageProcessor``: the GGUF values with Go's defaults and fix-ups."""
    s = {
        "patch": int(setting(preset, "encoder_patch_size", 16)), "ds": int(setting(preset, "downsample_factor", 2)),
        "splitting": bool(setting(preset, "do_image_splitting", True)),
        "min_tiles": int(setting(preset, "min_tiles", 2)), "max_tiles": int(setting(preset, "max_tiles", 10)),
        "thumbnail": bool(setting(preset, "use_thumbnail", True)), "tile": int(setting(preset, "tile_size", 512)),
        "min_tokens": int(setting(preset, "min_image_tokens", 64)),
        "max_tokens": int(setting(preset, "max_image_tokens", 256)),
        "tolerance": float(setting(preset, "max_pixels_tolerance", 2.0)),
        "mean": setting(preset, "image_mean", (0.5, 0.5, 0.5)), "std": setting(preset, "image_std", (0.5, 0.5, 0.5)),
    }
    s["ds"] = s["ds"] if s["ds"] > 0 else 2
    s["patch"] = s["patch"] if s["patch"] > 0 else 16
    s["tile"] = s["tile"] if s["tile"] > 0 else 512
    s["min_tiles"] = s["min_tiles"] if s["min_tiles"] > 0 else 2
    s["max_tiles"] = max(s["max_tiles"], s["min_tiles"])
    s["min_tokens"] = s["min_tokens"] if s["min_tokens"] > 0 else 64
    s["max_tokens"] = max(s["max_tokens"], s["min_tokens"])
    s["tolerance"] = s["tolerance"] if s["tolerance"] > 0 else 2.0
    return s


def stages_lfm2(img: GoImage, preset, tb: TraceBuilder) -> None:
    s = _settings(preset)
    h, w = img.size
    patch, ds, tile = s["patch"], s["ds"], s["tile"]
    sh, sw = smart_resize_ollama(h, w, patch, ds, s["min_tokens"], s["max_tokens"])
    tile_tok = (tile // patch // ds) ** 2  # the projector's output for a tile (pixel unshuffle by ds)
    if should_split_ollama(h, w, patch, ds, s["max_tokens"], s["tolerance"], s["splitting"], s["min_tiles"],
                           s["max_tiles"]):
        ratios = ratios_go(s["min_tiles"], s["max_tiles"])
        cols, rows = closest_grid_f64(float(w) / float(h), ratios, float(w * h), tile)
        thumb = s["thumbnail"] and cols * rows != 1
        tok = geometry.tokens((rows, cols), tile_tok, (sh // patch // ds) * (sw // patch // ds), thumb)
        plan = geometry.make_plan((h, w), True, (rows * tile, cols * tile), (rows, cols), tile, (sh, sw), thumb, tok)
        tb.add("plan", plan.to_dict(), "plan", note=f"grid from {len(ratios)} candidates in pdqsort order")
        resized = resize_bilinear_ollama(img, (rows * tile, cols * tile))
        tb.add("resize", rgb_of(resized), "HWC", note=f"tile grid {rows}x{cols} of {tile}")
        tiles = [resized[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile] for r in range(rows) for c in range(cols)]
        if thumb:
            tiles.append(resize_bilinear_ollama(img, (sh, sw)))
        tb.add("tiles", stack_or_tuple(tuple(rgb_of(t) for t in tiles)), "images,H,W,C",
               note="tiles row-major" + (", then the thumbnail" if thumb else ""))
    else:
        n = (sh // patch // ds) * (sw // patch // ds)
        plan = geometry.make_plan((h, w), False, (sh, sw), (1, 1), tile, (sh, sw), False, geometry.Tokens(n + 2, n))
        tb.add("plan", plan.to_dict(), "plan")
        tiles = [resize_bilinear_ollama(img, (sh, sw))]
        tb.add("resize", rgb_of(tiles[0]), "HWC", note="smart resize")
    chw = tuple(normalize_chw_ollama(t, s["mean"], s["std"]) for t in tiles)
    tb.add("normalize", stack_or_tuple(chw), "images,C,H,W")
    tb.add("pack", stack_or_tuple(chw), "images,C,H,W", note="each image FromFloats(data, W, H, C), in order")
