"""InternVL geometry (dynamic tiling): the image is resized to the tile grid whose aspect ratio is closest
to the image's, among grids of ``min_tiles``..``max_tiles`` tiles, cut into tiles row-major, and a
thumbnail (the whole image at one tile) follows when there is more than one tile.

As llama.cpp mtmd 0c1e570 ``mtmd_image_preprocessor_internvl`` (tools/mtmd/mtmd-image.cpp) computes it;
the reference and transformers (``GotOcr2ImageProcessor``-style crops in ``InternVLProcessor``) are
added with the InternVL presets.

Tokens (llama.cpp mtmd 0c1e570 ``mtmd.cpp`` ``init_vision`` PROJECTOR_TYPE_INTERNVL): ``<img>``, every
chunk's (image_size / patch)^2 / scale_factor^2 embeddings, ``</img>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def tokens_llamacpp(num_chunks: int, per_tile: int) -> Tokens:
    return Tokens(per_tile * num_chunks + 2, per_tile * num_chunks)


@dataclass(frozen=True)
class InternVLPlan(Plan):
    thumbnail: bool  # the whole image resized to one tile follows the tiles


def make_plan(image_hw, resized, grid, num_images: int, tokens: Tokens) -> InternVLPlan:
    return InternVLPlan(**summary_fields(image_hw, resized, None, (0, 0), grid, num_images, tokens),
                        thumbnail=num_images > grid[0] * grid[1])
