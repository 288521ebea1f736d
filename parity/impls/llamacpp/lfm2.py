"""``mtmd_image_preprocessor_lfm2`` (LFM2-VL): llava-uhd slicing with LFM2's own slice instructions.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp and mtmd-image.h at commit 0c1e570
(``mtmd_image_preprocessor_lfm2``: ``preprocess``, ``should_tile``, ``get_slice_instructions``,
``find_closest_aspect_ratio``, ``get_target_ratios``, ``get_grid_layout``; constants ``min_tiles`` 2,
``max_tiles`` 10, ``max_pixels_tolerance`` 2.0f, ``tile_size`` 512 in the header, not read from the file).

1. The overview size is ``calc_size_preserved_ratio`` (float32, ``std::round``: half away from zero) with
   align = patch * n_merge and the 64..256-token pixel limits of clip.cpp.
2. ``should_tile``: each side ``nearbyint(double(float(side)) / align) * align`` (half to even), at least one
   *patch*; tiled when h*w > max_pixels * 2 (in double).
3. Tiled: the (cols, rows) grid from ``get_target_ratios`` (loop order, then ``std::sort`` by area: GCC's
   introsort, ``parity.families.tile_ratios.sort_libstdcxx``) and ``find_closest_aspect_ratio`` in float32;
   the image resized to (512*cols, 512*rows) with the *refined* settings -- bilinear, ``PAD_CEIL`` with black:
   the aspect ratio is kept and the tile grid padded (transformers stretches it) -- and cut row-major; the
   overview (bilinear, no pad) follows the slices (``ov_img_first`` false).
4. Not tiled: the overview alone, as a plain chunk (no thumbnail marker).
"""

from __future__ import annotations

import numpy as np

from parity.families import lfm2_vl as geometry
from parity.families.base import Tokens
from parity.families.tile_ratios import closest_grid_f32, ratios_libstdcxx
from parity.impls.llamacpp.dyn_size import smart_resize_llamacpp
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.llava_uhd import SliceInstructions, ordered_chunks, slice_image
from parity.impls.llamacpp.resize import Preprocessed

#: mtmd-image.h ``mtmd_image_preprocessor_lfm2`` constexprs
MIN_TILES = 2
MAX_TILES = 10
MAX_PIXELS_TOLERANCE = 2.0  # float 2.0f: exact in double
TILE_SIZE = 512


def should_tile(width: int, height: int, hp: ClipHparams) -> bool:
    align = hp.patch_size * hp.n_merge
    # round_by_factor(float x): static_cast<int>(std::nearbyint(double(x) / align)) * align; nearbyint rounds half
    # to even in the default rounding mode, as Python's round does on the same double
    h_bar = max(hp.patch_size, round(float(np.float32(height)) / align) * align)
    w_bar = max(hp.patch_size, round(float(np.float32(width)) / align) * align)
    return float(h_bar) * float(w_bar) > float(hp.image_max_pixels) * MAX_PIXELS_TOLERANCE


def get_slice_instructions(width: int, height: int, hp: ClipHparams) -> SliceInstructions:
    align = hp.patch_size * hp.n_merge
    overview = smart_resize_llamacpp(width, height, align, hp.image_min_pixels, hp.image_max_pixels)
    if not should_tile(width, height, hp):
        return SliceInstructions(overview, (0, 0), (0, 0), ())
    cols, rows = closest_grid_f32(width, height, ratios_libstdcxx(MIN_TILES, MAX_TILES), TILE_SIZE)
    slices = tuple((c * TILE_SIZE, r * TILE_SIZE, TILE_SIZE, TILE_SIZE) for r in range(rows) for c in range(cols))
    return SliceInstructions(overview, (TILE_SIZE * cols, TILE_SIZE * rows), (cols, rows), slices)


def preprocess_lfm2(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    inst = get_slice_instructions(w, h, hp)
    steps, overview, slices = slice_image(img, inst, hp)
    if slices:
        chunks, roles = ordered_chunks(overview, slices, ov_first=False)
    else:  # single tile: the overview goes out as a plain entry, no <|img_thumbnail|>
        chunks, roles = (overview,), ("image",)
    plan = {"preprocessor": "lfm2", "original": [w, h], **inst.to_dict(), "tile_size": TILE_SIZE,
            "resize": [s.plan for s in steps], "chunks": list(roles)}
    return Preprocessed(plan, steps, chunks, roles)


def _out_tokens(wh, hp: ClipHparams) -> int:
    """``clip_n_output_tokens`` PROJECTOR_TYPE_LFM2: CLIP_ALIGN(nx, p*n_merge)/(p*n_merge) * the same for ny."""
    out = hp.patch_size * hp.n_merge
    return -(-int(wh[0]) // out) * -(-int(wh[1]) // out)


def plan_lfm2(image_hw, out: Preprocessed, hp: ClipHparams):
    """llama.cpp's numbers in the LFM2-VL plan (sizes [h, w], grid [rows, cols])."""
    ov_w, ov_h = out.plan["overview"]
    steps = {s.role: s.plan for s in out.steps}
    if not out.plan["slices"]:
        n = _out_tokens((ov_w, ov_h), hp)
        return geometry.make_plan(image_hw, False, (ov_h, ov_w), (1, 1), TILE_SIZE, (ov_h, ov_w), False,
                                  Tokens(n + 2, n))
    cols, rows = out.plan["grid"]
    rf = steps["refined"]
    canvas = (rf["target"][1], rf["target"][0])
    inner = (rf["inner"][1], rf["inner"][0]) if "inner" in rf else canvas
    offset = (rf["offset"][1], rf["offset"][0]) if "inner" in rf else (0, 0)
    tok = geometry.tokens((rows, cols), _out_tokens((TILE_SIZE, TILE_SIZE), hp), _out_tokens((ov_w, ov_h), hp), True)
    return geometry.make_plan(image_hw, True, inner, (rows, cols), TILE_SIZE, (ov_h, ov_w), True, tok,
                              canvas=canvas, pad_offset=offset)
