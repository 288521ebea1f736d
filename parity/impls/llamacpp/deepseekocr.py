"""``mtmd_image_preprocessor_deepseekocr`` (DeepSeek-OCR, DeepSeek-OCR 2): a padded global view plus a tile grid.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570 (``preprocess``, ``get_target_ratios``,
``find_closest_aspect_ratio``), mtmd-image.h (``fuse_row`` for v1), clip.cpp ``load_hparams`` (image size 1024,
tiles 2..9 of 640 for v1, 2..6 of 768 for v2, grey 127 pad, optional ``clip.vision.preproc_{min,max}_tiles``)
and mtmd.cpp (``ov_img_first`` false: tiles first, the global view last).

1. Global view: ``img_tool::resize`` to 1024x1024, bicubic, ``PAD_NEAREST`` (round the fitted size and the offset)
   with (127, 127, 127).
2. Tiles only when the image is wider or taller than one tile: grid from ``get_target_ratios`` (loop order,
   ``std::sort`` by area: ``tile_ratios.sort_libstdcxx``) and ``find_closest_aspect_ratio`` in float32; the image
   resized to the grid, bicubic, no pad.
3. v1 (``deepseekocr``) fuses each tile row into one image, the row's tiles stacked vertically (w = tile,
   h = tile * cols); v2 keeps each tile.
"""

from __future__ import annotations

import numpy as np

from parity.families import deepseek_ocr as geometry
from parity.families.tile_ratios import closest_grid_f32, ratios_libstdcxx
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed, resize_llamacpp
from parity.kernels.pad_llamacpp import crop_llamacpp


def preprocess_deepseekocr(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    base, tile = hp.image_size, hp.preproc_tile_size
    ov = resize_llamacpp(img, base, base, "bicubic", "nearest", hp.pad_color, "overview")
    steps, chunks, roles = [ov], [], []
    grid = (0, 0)
    if w > tile or h > tile:
        cols, rows = closest_grid_f32(w, h, ratios_libstdcxx(hp.preproc_min_tiles, hp.preproc_max_tiles), tile)
        grid = (cols, rows)
        rf = resize_llamacpp(img, tile * cols, tile * rows, "bicubic", "none", (0, 0, 0), "refined")
        steps.append(rf)
        refined = rf.output
        for r in range(rows):
            band = refined[r * tile:(r + 1) * tile]  # (tile, tile*cols, 3)
            if hp.projector == "deepseekocr":  # fuse_row: the row's tiles stacked vertically
                chunks.append(np.ascontiguousarray(band.reshape(tile, cols, tile, 3).transpose(1, 0, 2, 3)
                                                   .reshape(cols * tile, tile, 3)))
                roles.append(f"row {r}")
            else:
                for c in range(cols):
                    chunks.append(crop_llamacpp(refined, c * tile, r * tile, tile, tile))
                    roles.append(f"tile {r},{c}")
    chunks.append(ov.output)
    roles.append("overview")
    plan = {"preprocessor": "deepseekocr", "original": [w, h], "grid": list(grid), "tile_size": tile,
            "fuse_row": hp.projector == "deepseekocr", "resize": [s.plan for s in steps], "chunks": roles}
    return Preprocessed(plan, tuple(steps), tuple(chunks), tuple(roles))


def plan_deepseekocr(image_hw, out: Preprocessed, hp: ClipHparams) -> geometry.DeepseekOcrPlan:
    """llama.cpp's numbers in the DeepSeek-OCR plan; tokens from ``clip_n_output_tokens`` (v1: the authors' formula
    with newlines; v2: 256 queries + the view separator and 144 per tile) plus ``img_end`` "\\n"."""
    ov = out.steps[0].plan
    inner = (int(ov["inner"][1]), int(ov["inner"][0])) if "inner" in ov else (hp.image_size, hp.image_size)
    offset = (int(ov["offset"][1]), int(ov["offset"][0])) if "inner" in ov else (0, 0)
    cols, rows = out.plan["grid"]
    tiled = cols > 0
    if hp.projector == "deepseekocr2":  # 256 queries + the view separator; 144 per 768 tile, no newlines
        n = geometry.queries(hp.image_size) ** 2 + 1 + rows * cols * geometry.queries(hp.preproc_tile_size) ** 2
        tok = geometry.Tokens(n + 1, n)
    else:
        tok = geometry.tokens((rows, cols), hp.image_size, hp.preproc_tile_size, tiled, delimiters=1)
    return geometry.make_plan(image_hw, inner, hp.image_size, offset, tiled, (rows, cols), hp.preproc_tile_size, tok,
                              n_images=len(out.chunks))
