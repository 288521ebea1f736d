"""InternVL geometry (dynamic tiling): the image is resized to the grid of ``tile`` x ``tile`` tiles whose aspect
ratio is closest to the image's, cut into tiles row-major, and the whole image resized to one tile (the
thumbnail) follows when there is more than one tile.

The authors' code: OpenGVLab/InternVL@2410d1d ``internvl_chat/internvl/train/dataset.py``
``find_closest_aspect_ratio`` / ``dynamic_preprocess`` (the same functions as ``load_image`` in the
OpenGVLab/InternVL3-8B model card, called with ``max_num=12, use_thumbnail=True``):

1. Candidates (cols, rows): every pair with ``min_tiles <= cols * rows <= max_tiles``, built as a Python set and
   sorted by cols * rows (stable: pairs of equal product keep the set's iteration order).
   transformers 5.23.0 (``models/got_ocr2/image_processing{,_pil}_got_ocr2.py``
   ``get_all_supported_aspect_ratios``): cols outer, rows inner, then the same stable sort.
2. Closest aspect: walk the candidates; one whose |w/h - cols/rows| is strictly smaller wins; an exact tie
   replaces the current one only if ``w * h > 0.5 * tile^2 * cols * rows`` (both codes,
   ``find_closest_aspect_ratio`` / ``get_optimal_tiled_canvas``).
3. Resize to (rows * tile, cols * tile) without keeping the aspect, crop row-major; when cols * rows > 1, the
   original image resized to tile x tile is appended (thumbnail). Bicubic everywhere (the authors' PIL
   ``Image.resize`` default; transformers ``resample=3``).

llama.cpp mtmd 0c1e570 (``mtmd_image_preprocessor_internvl``) decides differently: the llava-uhd
``select_best_resolution`` (largest effective resolution, then least waste) over the candidates of
``set_internvl_dhr_res_candidates``, the refined image aspect-padded with black, the overview always encoded
(also after a 1x1 grid) and never when the image fits in one tile; see ``parity.impls.llamacpp.internvl``.

Tokens (per tile ``(tile / patch)^2 * downsample_ratio^2`` = 256 for 448 / 14 / 0.5): ``<img>``, 256 per
encoded image, ``</img>``, in all three runtimes: the model card's ``chat`` (``IMG_START_TOKEN +
IMG_CONTEXT_TOKEN * num_image_token * num_patches + IMG_END_TOKEN``), transformers ``InternVLProcessor``
(``replace_image_token``) and mtmd.cpp ``init_vision`` PROJECTOR_TYPE_INTERNVL (``img_beg``/``img_end``).
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families import tile_ratios
from parity.families.base import Plan, Tokens, summary_fields


def candidates_reference(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """Step 1, the authors' order: (cols, rows) from a Python set, stable-sorted by cols * rows."""
    return tile_ratios.ratios_python_set(min_tiles, max_tiles)


def candidates_hf(min_tiles: int, max_tiles: int) -> list[tuple[int, int]]:
    """Step 1, transformers' order: cols outer, rows inner, stable-sorted by cols * rows."""
    pairs = [(c, r) for c in range(1, max_tiles + 1) for r in range(1, max_tiles + 1)
             if min_tiles <= c * r <= max_tiles]
    return sorted(pairs, key=tile_ratios.area)


def closest_grid(img_h: int, img_w: int, tile: int, candidates) -> tuple[int, int]:
    """Step 2 -> (cols, rows): the float64 walk of both codes."""
    return tile_ratios.closest_grid_f64(img_w / img_h, candidates, img_w * img_h, tile)


CANDIDATES = {"reference": candidates_reference, "hf": candidates_hf}


def tokens(num_images: int, per_tile: int) -> Tokens:
    """``<img>`` + per_tile embeddings per encoded image + ``</img>`` (every runtime, see the module docstring)."""
    return Tokens(per_tile * num_images + 2, per_tile * num_images)


tokens_reference = tokens_hf = tokens_llamacpp = tokens


def tokens_per_tile(tile: int, patch: int, downsample_ratio: float) -> int:
    """(tile / patch)^2 * downsample_ratio^2: the model card's ``num_image_token`` (int of the product)."""
    return int((tile // patch) ** 2 * downsample_ratio**2)


@dataclass(frozen=True)
class InternVLPlan(Plan):
    thumbnail: bool  # the whole image resized to one tile follows the tiles


def make_plan(image_hw, resized, grid, num_images: int, tokens: Tokens, canvas=None, pad_offset=(0, 0)) -> InternVLPlan:
    """One impl's plan: ``resized`` [h, w] of the image drawn on the ``canvas`` (the tile grid; llama.cpp pads),
    ``grid`` [rows, cols] of tiles, ``num_images`` encoded images."""
    return InternVLPlan(**summary_fields(image_hw, resized, canvas, pad_offset, grid, num_images, tokens),
                        thumbnail=num_images > grid[0] * grid[1])


def plan(img_h: int, img_w: int, tile: int, min_tiles: int, max_tiles: int, per_tile: int,
         variant: str = "reference") -> InternVLPlan:
    """The authors' (``reference``) or transformers' (``hf``) plan."""
    cols, rows = closest_grid(img_h, img_w, tile, CANDIDATES[variant](min_tiles, max_tiles))
    n = cols * rows + (1 if cols * rows > 1 else 0)
    return make_plan((img_h, img_w), (rows * tile, cols * tile), (rows, cols), n, tokens(n, per_tile))
