"""``mtmd_image_preprocessor_llava_uhd`` (LLaVA-1.6, Granite Vision, MiniCPM-V, Llama 4) and the slice
geometry InternVL shares.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570 (``get_slice_instructions``,
``slice_image``, ``get_best_resize``, ``select_best_resolution``, ``get_refine_size``, ``get_best_grid``)
and mtmd.cpp (``mtmd_tokenize``: the overview chunk goes first when ``ov_img_first``, else last).

- An image no larger than ``image_size`` on both sides is not sliced: the overview alone, resized to
  ``image_size`` x ``image_size`` (even for MiniCPM-V).
- With pinpoints (LLaVA-1.6, Llama 4): the refined size is the best candidate (largest effective
  resolution, then least waste, first wins ties), slices are ``image_size`` squares in row-major order;
  the overview is a plain resize (``PAD_NONE``) and the refined image an aspect-preserving pad.
- Without pinpoints (MiniCPM-V): the overview keeps the aspect ratio (``get_best_resize``), the grid
  comes from ``get_best_grid`` (at most 9 slices).
Float arithmetic is float32 where the C++ uses float.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed, resize_llamacpp
from parity.kernels.pad_llamacpp import crop_llamacpp, round_half_away_f32

f32 = np.float32
MAX_SLICE_NUMS = 9  # hard-coded in get_slice_instructions (MiniCPM-V)


@dataclass(frozen=True)
class SliceInstructions:
    overview_size: tuple[int, int]  # (w, h)
    refined_size: tuple[int, int]
    grid_size: tuple[int, int]  # (cols, rows)
    slices: tuple[tuple[int, int, int, int], ...]  # (x, y, w, h) in row-major order

    def to_dict(self) -> dict:
        return {"overview": list(self.overview_size), "refined": list(self.refined_size),
                "grid": list(self.grid_size), "slices": [list(s) for s in self.slices]}


def ensure_divide(length: int, patch: int) -> int:
    return max(int(f32(round_half_away_f32(f32(length) / f32(patch))) * f32(patch)), patch)


def get_best_resize(width: int, height: int, scale_resolution: int, patch: int,
                    allow_upscale: bool = False) -> tuple[int, int]:
    if width * height > scale_resolution * scale_resolution or allow_upscale:
        r = f32(width) / f32(height)
        height = int(f32(scale_resolution) / np.sqrt(r, dtype=np.float32))
        width = int(f32(height) * r)
    return ensure_divide(width, patch), ensure_divide(height, patch)


def resize_maintain_aspect_ratio(width: int, height: int, max_w: int, max_h: int) -> tuple[int, int]:
    scale = min(f32(max_w) / f32(width), f32(max_h) / f32(height))
    return int(f32(width) * scale), int(f32(height) * scale)


def select_best_resolution(width: int, height: int,
                           candidates: tuple[tuple[int, int], ...]) -> tuple[int, int]:
    best, min_wasted, max_effective = (0, 0), 2**31 - 1, 0
    for cw, ch in candidates:
        tw, th = resize_maintain_aspect_ratio(width, height, cw, ch)
        effective = min(tw * th, width * height)
        wasted = cw * ch - effective
        if effective > max_effective or (effective == max_effective and wasted < min_wasted):
            max_effective, min_wasted, best = effective, wasted, (cw, ch)
    return best


def get_refine_size(width: int, height: int, grid: tuple[int, int], scale_resolution: int, patch: int,
                    allow_upscale: bool = False) -> tuple[int, int]:
    gx, gy = grid
    cell_w = ensure_divide(width, gx) // gx
    cell_h = ensure_divide(height, gy) // gy
    bw, bh = get_best_resize(cell_w, cell_h, scale_resolution, patch, allow_upscale)
    return bw * gx, bh * gy


def get_best_grid(multiple: int, log_ratio: np.float32) -> tuple[int, int]:
    nums = [i for i in (multiple - 1, multiple, multiple + 1) if i != 1 and i <= MAX_SLICE_NUMS]
    grids = [(m, n // m) for n in nums for m in range(1, n + 1) if n % m == 0]
    best, min_error = (1, 1), f32(np.inf)
    for gw, gh in grids:
        # float log_ratio promoted to double, std::log in double, the difference stored as float
        error = f32(abs(float(log_ratio) - math.log(1.0 * gw / gh)))
        if error < min_error:
            best, min_error = (gw, gh), error
    return best


def get_slice_instructions(width: int, height: int, hp: ClipHparams) -> SliceInstructions:
    patch = hp.patch_size * hp.n_merge
    s = hp.image_size
    if not (width > s or height > s):
        return SliceInstructions((s, s), (0, 0), (0, 0), ())
    if hp.res_candidates:
        rw, rh = select_best_resolution(width, height, hp.res_candidates)
        slices = tuple((x, y, min(s, rw - x), min(s, rh - y))
                       for y in range(0, rh, s) for x in range(0, rw, s))
        return SliceInstructions((s, s), (rw, rh), (rw // s, rh // s), slices)
    overview = get_best_resize(width, height, s, patch, False)
    # log() of a float argument: C's double log, the result stored as float
    log_ratio = f32(math.log(float(f32(width) / f32(height))))
    ratio = f32(f32(width) * f32(height)) / f32(s * s)
    multiple = int(min(math.ceil(float(ratio)), MAX_SLICE_NUMS))
    grid = get_best_grid(multiple, log_ratio)
    rw, rh = get_refine_size(width, height, grid, s, patch, True)
    cw, ch = rw // grid[0], rh // grid[1]
    slices = tuple((x * cw, y * ch, cw, ch) for y in range(grid[1]) for x in range(grid[0])
                   if y * ch < rh and x * cw < rw)
    return SliceInstructions(overview, (rw, rh), grid, slices)


def slice_image(img: np.ndarray, inst: SliceInstructions, hp: ClipHparams):
    """Overview resize, refined resize, crops: (steps, overview, slices)."""
    ov = resize_llamacpp(img, *inst.overview_size, hp.resize_algo_ov, hp.pad_ov, hp.pad_color_ov, "overview")
    if not inst.slices:
        return (ov,), ov.output, ()
    rf = resize_llamacpp(img, *inst.refined_size, hp.resize_algo_rf, hp.pad_rf, hp.pad_color_rf, "refined")
    refined = rf.output
    return (ov, rf), ov.output, tuple(crop_llamacpp(refined, *box) for box in inst.slices)


def ordered_chunks(overview: np.ndarray, slices: tuple, ov_first: bool):
    roles = [f"slice {i}" for i in range(len(slices))]
    if ov_first:
        return (overview, *slices), ("overview", *roles)
    return (*slices, overview), (*roles, "overview")


def preprocess_llava_uhd(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    inst = get_slice_instructions(w, h, hp)
    steps, overview, slices = slice_image(img, inst, hp)
    chunks, roles = ordered_chunks(overview, slices, hp.ov_img_first)
    plan = {"preprocessor": "llava_uhd", "original": [w, h], **inst.to_dict(),
            "resize": [s.plan for s in steps], "chunks": list(roles)}
    return Preprocessed(plan, steps, chunks, roles)
