"""``mtmd_image_preprocessor_step3vl`` (Step3-VL): a 728x728 global view plus sliding 504-pixel windows.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp and mtmd-image.h at commit 0c1e570
(``mtmd_image_preprocessor_step3vl``: ``prepare_image``, ``determine_window_size``, ``calc_crop_extent``,
``calc_grid``, ``crop_with_black_padding``, ``build_slice_instructions``, ``img_u8_resize_bilinear_to_f32``,
``preprocess``; constants crop 504, longest edge 3024, aspect limits 1.5 and 4, rounding threshold 0.2), clip.cpp
(``image_longest_edge`` from ``clip.vision.preproc_image_size``, 3024 by default) and mtmd.cpp (windows first,
the overview last).

1. ``prepare_image``: a tiny-and-thin image (short side < 32, aspect > 4 or < 1/4) is padded to a square with black
   (top-left); an image longer than the longest edge is scaled down (float32 scale, ``floor``) with
   ``img_tool::resize`` bilinear (Pillow-style fixed point).
2. Window: for a long side <= image_size (728), the short side if the aspect ratio is above 1.5, else none; above
   it, 504 -- or min(short side, 504) when the aspect ratio is above 4.
3. Each side snapped to the window: floor(len / window) windows, one more when the remainder exceeds 0.2 of a window
   (a side shorter than the window is kept); the image resized to that size (bilinear) when it differs; windows at
   multiples of the window size, the last one moved back to end at the edge; row-major; a window reaching past the
   image is filled with black.
4. Every view is resized to its target (728 overview, 504 windows) by ``img_u8_resize_bilinear_to_f32``: each
   source pixel normalized first, ``(v / 255 - mean) / std``, then a half-pixel-centre bilinear interpolation in
   float32 (clamped edges, no antialias) -- normalization happens *before* the resize.
"""

from __future__ import annotations

import math

import numpy as np

from parity.families import step3vl as geometry
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed, ResizeStep, resize_llamacpp

f32 = np.float32
CROP_SIZE = 504  # default_image_crop_size
SMALL_ASPECT = f32(1.5)  # small_aspect_ratio_limit
WIDE_ASPECT = f32(4.0)  # wide_aspect_ratio_limit
ROUNDING = f32(0.2)  # crop_rounding_threshold


def resize_bilinear_to_f32(src: np.ndarray, width: int, height: int, mean, std) -> np.ndarray:
    """``img_u8_resize_bilinear_to_f32`` -> (height, width, 3) float32."""
    mean, std = np.asarray(mean, dtype=f32), np.asarray(std, dtype=f32)
    norm = (src.astype(f32) / f32(255.0) - mean) / std  # each corner normalized in float32, as the C++ does
    sh, sw = src.shape[:2]
    if (sh, sw) == (height, width):  # from_u8 + normalize: the same expression
        return norm
    scale_x, scale_y = f32(sw) / f32(width), f32(sh) / f32(height)
    sx = (np.arange(width, dtype=f32) + f32(0.5)) * scale_x - f32(0.5)
    sy = (np.arange(height, dtype=f32) + f32(0.5)) * scale_y - f32(0.5)
    x0f, y0f = np.floor(sx).astype(np.int64), np.floor(sy).astype(np.int64)
    lx, ly = (sx - x0f.astype(f32))[None, :, None], (sy - y0f.astype(f32))[:, None, None]
    x0, x1 = np.clip(x0f, 0, sw - 1), np.clip(x0f + 1, 0, sw - 1)
    y0, y1 = np.clip(y0f, 0, sh - 1), np.clip(y0f + 1, 0, sh - 1)
    top_rows, bot_rows = norm[y0], norm[y1]
    v00, v01, v10, v11 = top_rows[:, x0], top_rows[:, x1], bot_rows[:, x0], bot_rows[:, x1]
    top = v00 + (v01 - v00) * lx
    bot = v10 + (v11 - v10) * lx
    return top + (bot - top) * ly


def prepare_image(img: np.ndarray, longest_edge: int) -> tuple[np.ndarray, list[ResizeStep]]:
    h, w = img.shape[:2]
    steps: list[ResizeStep] = []
    aspect = f32(w) / f32(h) if h > 0 else f32(1.0)
    if min(w, h) < 32 and (aspect > WIDE_ASPECT or aspect < f32(1.0) / WIDE_ASPECT):
        side = max(w, h)
        sq = np.zeros((side, side, 3), dtype=np.uint8)
        sq[:h, :w] = img
        steps.append(ResizeStep("square", img, sq, {"role": "square", "source": [w, h], "target": [side, side],
                                                    "filter": "none", "pad": "top-left", "inner": [w, h],
                                                    "offset": [0, 0], "color": [0, 0, 0]}))
        img, (h, w) = sq, (side, side)
    if max(w, h) > longest_edge:
        scale = f32(longest_edge) / f32(max(w, h))
        nw = max(1, int(math.floor(f32(w) * scale)))
        nh = max(1, int(math.floor(f32(h) * scale)))
        step = resize_llamacpp(img, nw, nh, "bilinear", "none", (0, 0, 0), "prepared")
        steps.append(step)
        img = step.output
    return img, steps


def window_size(image_size: int, longer: int, shorter: int) -> int:
    aspect = f32(longer) / f32(shorter)
    if longer <= image_size:
        return shorter if aspect > SMALL_ASPECT else 0
    return min(shorter, CROP_SIZE) if aspect > WIDE_ASPECT else CROP_SIZE


def crop_extent(length: int, window: int) -> int:
    ratio = f32(length) / f32(window)
    if ratio < f32(1.0):
        return length
    fl = f32(math.floor(ratio))
    return window * (int(fl) + 1 if ratio - fl > ROUNDING else int(fl))


def grid_starts(length: int, window: int) -> list[int]:
    n = 1 if length <= window else int(math.ceil(f32(length - window) / f32(window) + f32(1.0)))
    starts = [window * i for i in range(n)]
    if n > 1 and starts[-1] + window > length:
        starts[-1] = length - window
    return starts


def crop_with_black_padding(img: np.ndarray, x: int, y: int, w: int, h: int) -> np.ndarray:
    out = np.zeros((h, w, 3), dtype=np.uint8)
    ih, iw = img.shape[:2]
    x0, y0, x1, y1 = max(0, x), max(0, y), min(iw, x + w), min(ih, y + h)
    if x0 < x1 and y0 < y1:
        out[y0 - y:y1 - y, x0 - x:x1 - x] = img[y0:y1, x0:x1]
    return out


def preprocess_step3vl(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h0, w0 = img.shape[:2]
    prepared, steps = prepare_image(img, hp.image_longest_edge)
    ph, pw = prepared.shape[:2]
    overview = resize_bilinear_to_f32(prepared, hp.image_size, hp.image_size, hp.image_mean, hp.image_std)
    window = window_size(hp.image_size, max(pw, ph), min(pw, ph))
    plan = {"preprocessor": "step3vl", "original": [w0, h0], "prepared": [pw, ph], "window": window,
            "overview": [hp.image_size, hp.image_size]}
    if window <= 0:
        plan.update(refined=[0, 0], grid=[0, 0], slices=[], resize=[s.plan for s in steps], chunks=["overview"])
        return Preprocessed(plan, tuple(steps), (prepared,), ("overview",), normalized=(overview,))
    cw, ch = crop_extent(pw, window), crop_extent(ph, window)
    xs, ys = grid_starts(cw, window), grid_starts(ch, window)
    src = prepared
    if (cw, ch) != (pw, ph):
        step = resize_llamacpp(prepared, cw, ch, "bilinear", "none", (0, 0, 0), "refined")
        steps.append(step)
        src = step.output
    boxes = [(x, y) for y in ys for x in xs]
    windows = tuple(crop_with_black_padding(src, x, y, window, window) for x, y in boxes)
    floats = tuple(resize_bilinear_to_f32(v, CROP_SIZE, CROP_SIZE, hp.image_mean, hp.image_std) for v in windows)
    roles = tuple(f"window {i}" for i in range(len(windows))) + ("overview",)
    plan.update(refined=[cw, ch], grid=[len(xs), len(ys)], slices=[[x, y, window, window] for x, y in boxes],
                resize=[s.plan for s in steps], chunks=list(roles))
    return Preprocessed(plan, tuple(steps), (*windows, prepared), roles, normalized=(*floats, overview))


def plan_step3vl(image_hw, out: Preprocessed, hp: ClipHparams):
    """llama.cpp's numbers in the Step3-VL plan (tokens: ``clip_n_output_tokens`` PROJECTOR_TYPE_STEP3VL,
    (w / (patch * n_merge)) * (h / (patch * n_merge)) per chunk, with mtmd's STEP3VL delimiters)."""
    pw, ph = out.plan["prepared"]
    window = out.plan["window"]
    cols, rows = out.plan["grid"]
    rw, rh = out.plan["refined"]
    tok = geometry.tokens((rows, cols) if window else (0, 0), hp.image_size, CROP_SIZE)
    return geometry.make_plan(image_hw, (ph, pw), (rh, rw), (rows, cols), window, hp.image_size, tok)
