"""Llama 3.2 Vision in ollama f63eea3: ``model/models/mllama/process_image.go`` and ``model.go``.

- no alpha composite: ``draw.BiLinear.Scale`` (``draw.Over`` onto a zero RGBA) straight from the
  decoded image, so transparent pixels end up premultiplied, i.e. over black;
- geometry: ``optimalTiledCanvas`` (smallest upscale above 1, else the largest downscale; ties -> the
  smallest canvas area, first found) and ``fitToCanvas`` (floor of the scaled size);
- pad: the resized image drawn at the top-left of a zero canvas (tile multiples);
- pack: tiles row-major, each normalized channel-first (CLIP mean/std, float32), concatenated;
  ``EncodeMultimodal`` then zero-fills up to ``max_num_tiles`` tiles, and passes the 1-based rank of
  the (cols, rows) arrangement in ``supportedAspectRatios`` order as the aspect ratio id.
"""

from __future__ import annotations

import math

import numpy as np

from parity.decode.go import GoImage
from parity.errors import ParityError
from parity.families import mllama as geometry
from parity.trace import TraceBuilder, sealed

from .imageproc import (
    CLIP_MEAN,
    CLIP_STD,
    normalize_planes_ollama,
    resize_bilinear_ollama,
    rgb_of,
    setting,
)


def supported_aspect_ratios(max_tiles: int) -> list[tuple[int, int]]:
    """``supportedAspectRatios``: (width, height) in tiles, w outer, h inner; rank = index + 1."""
    return [(w, h) for w in range(1, max_tiles + 1) for h in range(1, max_tiles // w + 1)]


def optimal_tiled_canvas(width: int, height: int, tile: int, max_tiles: int) -> tuple[int, int]:
    """``optimalTiledCanvas`` -> (canvas_w, canvas_h)."""
    canvases = [(w * tile, h * tile) for w, h in supported_aspect_ratios(max_tiles)]
    scales = [min(ch / height, cw / width) for cw, ch in canvases]
    min_upscale, max_downscale, upscale = 0.0, 0.0, False
    for s in scales:
        if s > 1.0:
            upscale = True
            min_upscale = s if min_upscale == 0 else min(min_upscale, s)
        else:
            max_downscale = max(max_downscale, s)
    selected = min_upscale if upscale else max_downscale
    best = (0, 0)
    for (cw, ch), s in zip(canvases, scales):
        if s == selected and (best == (0, 0) or cw * ch < best[0] * best[1]):
            best = (cw, ch)
    return best


def fit_to_canvas(width: int, height: int, canvas_w: int, canvas_h: int, tile: int) -> tuple[int, int]:
    """``fitToCanvas`` -> (new_w, new_h)."""
    tw = min(max(width, tile), canvas_w)
    th = min(max(height, tile), canvas_h)
    r = min(tw / width, th / height)
    return min(math.floor(width * r), tw), min(math.floor(height * r), th)


def plan_mllama(height: int, width: int, tile: int, max_tiles: int, patch: int) -> dict:
    """Ollama's geometry decision in the mllama plan; its cross-attention has no mask, so every text
    token attends max_tiles * (patches + CLS) vision tokens, the zero tiles included."""
    cw, ch = optimal_tiled_canvas(width, height, tile, max_tiles)
    nw, nh = fit_to_canvas(width, height, cw, ch, tile)
    cols, rows = cw // tile, ch // tile
    ar_id = supported_aspect_ratios(max_tiles).index((cols, rows)) + 1
    return geometry.make_plan((height, width), (ch, cw), (nh, nw), (rows, cols), ar_id,
                              max_tiles * geometry.vision_tokens_per_tile(tile, patch)).to_dict()


def stages_mllama(img: GoImage, preset, tb: TraceBuilder) -> None:
    tile, max_tiles = int(setting(preset, "tile_size")), int(setting(preset, "max_tiles"))
    h, w = img.size
    if h == 0 or w == 0:  # float division by 0: fitToCanvas gives int(NaN), and NewRGBA panics on it
        raise ParityError("ollama panics: image: NewRGBA Rectangle has huge or negative dimensions "
                          f"(a {w}x{h} image)")
    plan = tb.add("plan", plan_mllama(h, w, tile, max_tiles, int(setting(preset, "patch_size", 14))), "plan")
    resized = rgb_of(resize_bilinear_ollama(img, tuple(plan["resized"])))
    tb.add("resize", resized, "HWC", note="RGBA premultiplied; alpha not read by pack")
    ch, cw = plan["canvas"]
    padded = np.zeros((ch, cw, 3), dtype=np.uint8)  # draw.Over onto a zero canvas copies the bytes
    padded[: resized.shape[0], : resized.shape[1]] = resized
    tb.add("pad", sealed(padded), "HWC")
    rows, cols = plan["grid"]
    tiles = np.empty((rows * cols, 3, tile, tile), dtype=np.uint8)
    np.copyto(tiles.reshape(rows, cols, 3, tile, tile),
              padded.reshape(rows, tile, cols, tile, 3).transpose(0, 2, 4, 1, 3))
    tb.add("tiles", sealed(tiles), "tiles,C,H,W uint8", note="splitToTiles, row-major")
    pack = np.zeros((max_tiles, 3, tile, tile), dtype=np.float32)
    normalize_planes_ollama(tiles, CLIP_MEAN, CLIP_STD, out=pack[: len(tiles)])
    sealed(pack)  # recorded as it is (no copy); the normalized tiles are its first len(tiles)
    tb.add("normalize", pack if len(tiles) == max_tiles else pack[: len(tiles)], "tiles,C,H,W")
    tb.add("pack", pack, "max_tiles,C,H,W", note="EncodeMultimodal zero-fills to max_num_tiles tiles")
    tb.add("aspect_ratio_ids", np.array([[plan["aspect_ratio_id"]]], dtype=np.int64), "batch,images",
           note="fed to the encoder as one int32 (the 1-based rank)")
    tb.add("num_tiles", np.array([[plan["num_images"]]], dtype=np.int64), "batch,images")
    tb.add("pixel_values_padded", pack[None, None], "batch,images,max_tiles,C,H,W")
