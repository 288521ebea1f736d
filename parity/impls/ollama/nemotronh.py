"""Nemotron Nano VL / Nemotron 3 Nano Omni in ollama f63eea3: ``model/models/nemotronh/imageproc.go``
(``ImageProcessor``) and ``model_omni.go`` (``EncodeMultimodal``, ``PostTokenize``), ``model_vision.go``
(``packVisionPatchesCHW``).

Composite over white, then one of two modes:

- dynamic (``vision.min_num_patches`` or ``vision.max_num_patches`` set): ``dynamicPatchGrid`` -- as transformers'
  ``get_patch_grid_size`` (``parity.families.nemotron_vl``) but with ``math.Round`` (half away from zero) in
  round(side/16 + 0.5), a floor of at least 1, and ``max_num_patches`` itself as the cap;
- tiles: ``nemotronTargetRatios`` (every grid up to ``max_tiles`` tiles, 1x1 included, loop order, then
  ``slices.SortFunc`` by area: Go's pdqsort), ``findClosestAspectRatio`` (float64; an exact tie goes to the later
  grid when the image area exceeds ``int(0.5 * 512^2 * cols * rows)``), the tiles cut from the resized grid,
  a 512x512 thumbnail when there is more than one tile.

``resizeImageBicubicCHW``: the image as float32 planes ``float32(v>>8) / 255``, resampled in float64 with
torch's cubic convolution (a = -0.75) at half-pixel centres, clamped indices, no antialias, the 16 products
``src * wy * wx`` summed in (ky, kx) order, stored as float32; then ``(v - mean) / std`` in float32. Each image is
fed as row-major (C, 16, 16) patches (``packVisionPatchesCHW``).
"""

from __future__ import annotations

import math

import numpy as np

from parity.arrays import stack_or_tuple
from parity.decode.go import GoImage
from parity.errors import ParityError
from parity.families import nemotron_vl as geometry
from parity.families.tile_ratios import area, sort_pdq_go
from parity.trace import TraceBuilder

from .imageproc import CLIP_MEAN, CLIP_STD, setting

A = -0.75


def _cubic1(x: np.ndarray) -> np.ndarray:
    return ((A + 2) * x - (A + 3)) * x * x + 1


def _cubic2(x: np.ndarray) -> np.ndarray:
    return ((A * x - 5 * A) * x + 8 * A) * x - 4 * A


def _axis(n_in: int, n_out: int) -> tuple[np.ndarray, list[np.ndarray]]:
    """Per output index: the base source index and the 4 weights (float64), as the Go loop computes them."""
    scale = float(n_in) / float(n_out)
    src = scale * (np.arange(n_out, dtype=np.float64) + 0.5) - 0.5
    base = np.floor(src)
    t = np.clip(src - base, 0.0, 1.0)
    return base.astype(np.int64), [_cubic2(t + 1.0), _cubic1(t), _cubic1(1.0 - t), _cubic2(2.0 - t)]


def resize_bicubic_chw_ollama(planes: np.ndarray, out_w: int, out_h: int, block_rows: int = 32) -> np.ndarray:
    """``resizeImageBicubicCHW`` on (3, H, W) float32 planes -> (3, out_h, out_w) float32.

    Each of the 16 terms is ``(float64(src) * wy) * wx`` and they are summed in (ky, kx) order, as in Go;
    ``src * wy`` is taken once per source row tap before the column taps are gathered (the same products,
    so the same bits). Output rows go ``block_rows`` at a time through three reused buffers that stay in
    the CPU's cache (the same operations on each element: ~3x faster than whole planes on a photo)."""
    _, in_h, in_w = planes.shape
    ybase, wy = _axis(in_h, out_h)
    xbase, wx = _axis(in_w, out_w)
    row_taps = [np.clip(ybase - 1 + ky, 0, in_h - 1) for ky in range(4)]
    col_taps = [np.clip(xbase - 1 + kx, 0, in_w - 1) for kx in range(4)]
    out = np.empty((3, out_h, out_w), dtype=np.float32)
    block = max(1, min(out_h, block_rows))
    rows_buf, term_buf, acc_buf = np.empty((3, block, in_w)), np.empty((3, block, out_w)), np.empty((3, block, out_w))
    for y0 in range(0, out_h, block):
        y1 = min(out_h, y0 + block)
        rows, term, acc = rows_buf[:, :y1 - y0], term_buf[:, :y1 - y0], acc_buf[:, :y1 - y0]
        acc.fill(0.0)
        for ky in range(4):
            rows[...] = planes[:, row_taps[ky][y0:y1]]  # float64(src) of each row tap
            rows *= wy[ky][y0:y1, None]
            for kx in range(4):
                np.take(rows, col_taps[kx], axis=2, out=term)
                term *= wx[kx]
                acc += term
        out[:, y0:y1] = acc
    return out


def normalize_vision_chw(values: np.ndarray, mean, std) -> np.ndarray:
    """``normalizeVisionCHW``: (v - mean) / std per channel, float32."""
    m = np.asarray(mean, dtype=np.float32).reshape(3, 1, 1)
    s = np.asarray(std, dtype=np.float32).reshape(3, 1, 1)
    return (values - m) / s


def pack_patches_chw(chw: np.ndarray, patch: int) -> np.ndarray:
    """``packVisionPatchesCHW``: row-major patches, each (C, P, P) -> (patches, C*P*P)."""
    c, h, w = chw.shape
    x = chw.reshape(c, h // patch, patch, w // patch, patch).transpose(1, 3, 0, 2, 4)
    return np.ascontiguousarray(x.reshape((h // patch) * (w // patch), c * patch * patch))


def dynamic_grid_ollama(width: int, height: int, patch: int, scale: int, min_patches: int,
                        max_patches: int) -> tuple[int, int]:
    """``dynamicPatchGrid`` -> (patches_w, patches_h)."""
    def go_round(x: float) -> int:  # math.Round: half away from zero (x > 0 here)
        return int(math.floor(x + 0.5))

    ph = max(1, go_round(float(height) / float(patch) + 0.5))
    pw = max(1, go_round(float(width) / float(patch) + 0.5))
    patches = ph * pw
    avail = max_patches if max_patches > 0 else max(patches, min_patches)
    factor = min(math.sqrt(float(avail) / float(patches)), 1.0)
    th, tw = max(1, int(math.floor(factor * ph))), max(1, int(math.floor(factor * pw)))
    if avail > min_patches and th * tw < min_patches:
        up = math.sqrt(float(min_patches) / float(th * tw))
        th, tw = int(math.ceil(up * th)), int(math.ceil(up * tw))

    def round_shuffle(v: int, other: int) -> int:  # roundPatchGridForPixelShuffle
        if scale <= 1 or v % scale == 0:
            return v
        rem = v % scale
        return v + scale - rem if (v + scale - rem) * other <= avail else max(scale, v - rem)

    th = round_shuffle(th, tw)
    tw = round_shuffle(tw, th)
    return tw, th


def closest_tiles_ollama(width: int, height: int, max_tiles: int, tile: int) -> tuple[int, int]:
    """``nemotronTargetRatios`` + ``findClosestAspectRatio`` -> (cols, rows)."""
    grids = [(w, h) for n in range(1, max_tiles + 1) for w in range(1, n + 1) for h in range(1, n + 1)
             if w * h <= max_tiles]
    unique = list(dict.fromkeys(grids))
    ratios = sort_pdq_go(unique, lambda a, b: area(a) - area(b))
    aspect = float(width) / float(height)
    best, best_diff = (1, 1), math.inf
    img_area = width * height
    for g in ratios:
        diff = abs(aspect - float(g[0]) / float(g[1]))
        if diff < best_diff:
            best, best_diff = g, diff
            continue
        if diff == best_diff and img_area > int(0.5 * float(tile * tile * g[0] * g[1])):
            best = g
    return best


def stages_nemotronh(img: GoImage, preset, tb: TraceBuilder) -> None:
    tile = int(setting(preset, "image_size", 512)) or 512
    patch = int(setting(preset, "patch_size", 16)) or 16
    max_tiles = int(setting(preset, "max_tiles", 12)) or 12
    scale = int(setting(preset, "projector_scale", 2)) or 2
    min_p, max_p = int(setting(preset, "min_num_patches", 0)), int(setting(preset, "max_num_patches", 0))
    thumb_on = bool(setting(preset, "use_thumbnail", True))
    mean, std = setting(preset, "image_mean", CLIP_MEAN), setting(preset, "image_std", CLIP_STD)
    h, w = img.size
    planes = np.moveaxis(img.pixels[..., :3], -1, 0).astype(np.float32) / np.float32(255.0)  # float32(r>>8) / 255
    if min_p > 0 or max_p > 0:
        pw, ph = dynamic_grid_ollama(w, h, patch, scale, min_p, max_p)
        if pw <= 0 or ph <= 0:
            raise ParityError("ollama: nemotron_h_omni: invalid dynamic image patch grid")
        tok = geometry.tokens([(ph, pw)], scale)
        plan = geometry.make_plan((h, w), "dynamic", (ph * patch, pw * patch), (1, 1), (ph, pw), False, tok)
        tb.add("plan", plan.to_dict(), "plan", note=f"patch budget {min_p}..{max_p}")
        images = [resize_bicubic_chw_ollama(planes, pw * patch, ph * patch)]
        tb.add("resize", images[0], "C,H,W float32 [0,1]", note="torch-style bicubic in float64, no antialias")
    else:
        cols, rows = closest_tiles_ollama(w, h, max_tiles, tile)
        thumb = thumb_on and rows * cols > 1
        grids = [(tile // patch, tile // patch)] * (rows * cols + (1 if thumb else 0))
        plan = geometry.make_plan((h, w), "tiles", (rows * tile, cols * tile), (rows, cols),
                                  (tile // patch, tile // patch), thumb, geometry.tokens(grids, scale))
        tb.add("plan", plan.to_dict(), "plan")
        resized = resize_bicubic_chw_ollama(planes, cols * tile, rows * tile)
        tb.add("resize", resized, "C,H,W float32 [0,1]", note="torch-style bicubic in float64, no antialias")
        images = [resized[:, r * tile:(r + 1) * tile, c * tile:(c + 1) * tile]
                  for r in range(rows) for c in range(cols)]
        if thumb:
            images.append(resize_bicubic_chw_ollama(planes, tile, tile))
        tb.add("tiles", stack_or_tuple(tuple(np.ascontiguousarray(i) for i in images)), "images,C,H,W float32 [0,1]",
               note="tiles row-major" + (", then the thumbnail" if thumb else ""))
    normalized = tuple(normalize_vision_chw(i, mean, std) for i in images)
    tb.add("normalize", stack_or_tuple(normalized), "images,C,H,W")
    tb.add("pack", stack_or_tuple(tuple(pack_patches_chw(n, patch) for n in normalized)), "images,patches,C*P*P",
           note="packVisionPatchesCHW: row-major patches, each (C, P, P)")
