"""Nemotron Nano VL geometry (NVIDIA; RADIO v2.5 vision tower, 16-pixel patches, 2x2 pixel shuffle). Two schemes:

- tiles (NVIDIA-Nemotron-Nano-12B-v2-VL): InternVL-style dynamic tiling -- the (cols, rows) grid of at most
  ``max_tiles`` 512-pixel tiles closest to the aspect ratio, the image resized to it and cut row-major, plus a
  512x512 thumbnail of the whole image when there is more than one tile;
- dynamic (Nemotron 3 Nano Omni, ``min_num_patches``/``max_num_patches`` set): one image resized to a patch grid
  close to its own, scaled into [min, max] patches, each side a multiple of the pixel-shuffle factor 2.

The dynamic grid as transformers 5.23.0 ``models/nemotron_h_omni/image_processing_nemotron_h_omni.py``
(``get_patch_grid_size``) computes it:

1. grid = round(side / 16 + 0.5) per side (Python ``round``: half to even -- a side of 512 gives round(32.5) = 32);
2. scaled down by min(sqrt(max / (gh*gw)), 1) with floor; below ``min_num_patches`` scaled up by
   sqrt(min / (gh*gw)) with ceil;
3. each side raised to the next multiple of 2 if the product stays within the cap, else lowered (at least 2) --
   height first, then width with the new height. The cap is min(max_num_patches, (max_model_len - 4) * 4) patches
   (13,312 for the checkpoint).
The image is resized (bicubic, antialiased, on float32) to grid * 16, normalized with CLIP mean/std and cut into
row-major (C, 16, 16) patches.

Runtimes: Ollama f63eea3 (``model/models/nemotronh/imageproc.go``) rounds step 1 with ``math.Round`` (half away
from zero: 512 gives 33), keeps at least 1 per side in step 2, uses ``max_num_patches`` as the cap, and resizes
with its own float64 torch-style bicubic (a = -0.75, no antialias) on the [0, 1] image; llama.cpp mtmd 0c1e570 has
no tiling for ``nemotron_v2_vl``: one 512x512 aspect-preserving bicubic resize padded with black (``fixed_size``).

Tokens: ``<img>`` + every image's (gh/2)*(gw/2) embeddings + ``</img>`` (transformers
``NemotronH_Omni_Reasoning_V3Processor.replace_image_token``, Ollama ``OmniModel.PostTokenize``; llama.cpp
``clip_n_output_tokens`` (512/16)^2 / n_merge^2, no delimiters of its own: the chat template's).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def patch_grid_hf(height: int, width: int, patch: int, merge: int, min_patches: int,
                  max_patches: int) -> tuple[int, int]:
    """``get_patch_grid_size`` -> (grid_h, grid_w), transformers' arithmetic."""
    gh, gw = round(height / patch + 0.5), round(width / patch + 0.5)
    factor = min(math.sqrt(max_patches / (gh * gw)), 1.0)
    gh, gw = math.floor(factor * gh), math.floor(factor * gw)
    if max_patches > min_patches and gh * gw < min_patches:
        factor = math.sqrt(min_patches / (gh * gw))
        gh, gw = math.ceil(factor * gh), math.ceil(factor * gw)
    if r := gh % merge:
        gh = gh + merge - r if (gh + merge - r) * gw <= max_patches else max(merge, gh - r)
    if r := gw % merge:
        gw = gw + merge - r if gh * (gw + merge - r) <= max_patches else max(merge, gw - r)
    return gh, gw


def tokens(grids, merge: int = 2, delimiters: int = 2) -> Tokens:
    """``grids``: each encoded image's (patches_h, patches_w)."""
    n = sum((gh // merge) * (gw // merge) for gh, gw in grids)
    return Tokens(n + delimiters, n)


@dataclass(frozen=True)
class NemotronVlPlan(Plan):
    mode: str  # "tiles", "dynamic" or "fixed" (llama.cpp's single square)
    patch_grid: tuple[int, int]  # [h, w] in patches of the dynamic image, or of one tile
    thumbnail: bool  # a thumbnail of the whole image follows the tiles


def make_plan(image_hw, mode: str, resized, grid, patch_grid, thumbnail: bool, tok: Tokens, canvas=None,
              pad_offset=(0, 0)) -> NemotronVlPlan:
    rows, cols = grid
    n = rows * cols + (1 if thumbnail else 0)
    return NemotronVlPlan(**summary_fields(image_hw, resized, canvas, pad_offset, (rows, cols), n, tok), mode=mode,
                          patch_grid=tuple(int(s) for s in patch_grid), thumbnail=bool(thumbnail))
