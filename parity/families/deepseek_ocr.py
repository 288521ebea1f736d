"""DeepSeek-OCR geometry ("Gundam" mode): a 1024x1024 global view (the image fitted and padded with grey) plus,
for an image larger than one 640-pixel tile, 640-pixel tiles on the grid closest to its aspect ratio.

As the authors' code computes it (deepseek-ai/DeepSeek-OCR @ e4ac34e
``DeepSeek-OCR-master/DeepSeek-OCR-vllm/process/image_process.py`` ``tokenize_with_images`` and
``dynamic_preprocess``; the checkpoint's ``modeling_deepseekocr.py`` ``infer`` does the same with 2..9 tiles):

1. Tiles only when the image is wider or taller than 640 (``image.size[0] <= 640 and image.size[1] <= 640``
   keeps the global view alone).
2. The (cols, rows) grid among min..max tiles (2..9) closest to w/h, candidates ``sorted(set(...), key=area)``,
   a later grid winning an exact tie when the image area exceeds half the candidate's
   (``parity.families.tile_ratios``); the image resized to (640*cols, 640*rows) with Pillow's default filter
   (bicubic), cut row-major.
3. The global view: ``ImageOps.pad(image, (1024, 1024), color=(127, 127, 127))`` -- fitted inside 1024x1024
   (Pillow's ``contain``: the long side 1024, the other ``round``-ed), centred, grey around.
4. ``ToTensor`` + ``Normalize(0.5, 0.5)``: (x/255 - 0.5) / 0.5 in float32.

Runtimes: llama.cpp mtmd 0c1e570 (``mtmd_image_preprocessor_deepseekocr``) pads the global view with its own
fit (``PAD_NEAREST``), uses float32 and ``std::sort``, and fuses each tile row into one 640 x (640*cols) image
(tiles stacked vertically); Ollama f63eea3 (``deepseekocr``) always tiles (even a small image gets >= 2 tiles),
ignores the tie rule's candidate (it tests the grid kept so far), keeps loop order (no sort), resizes with x/image
bilinear, and pads the global view with its own integer fit.

Tokens (the authors' ``tokenize_with_images``; llama.cpp ``clip_n_output_tokens`` PROJECTOR_TYPE_DEEPSEEKOCR plus
its ``img_end`` "\\n"; Ollama ``EncodeMultimodal``): the global view's 16x16 grid with a newline per row and a view
separator, 16*17 + 1 = 273; the tiles' (10*cols) x (10*rows) grid with a newline per row, (10*cols + 1) * 10*rows.
Newlines and the separator are learned embeddings (vision side).
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields

PATCH = 16  # SAM patch size
DOWNSAMPLE = 4  # two stride-2 convolutions after SAM


def queries(side: int) -> int:
    """``math.ceil((side // patch_size) / downsample_ratio)``: tokens per side of a view."""
    return -(-(side // PATCH) // DOWNSAMPLE)


def image_tokens(grid, base: int, tile: int, tiled: bool) -> int:
    """Embeddings of one image: the global view, its newlines and the separator; the tiles and their newlines."""
    qb, qt = queries(base), queries(tile)
    n = (qb + 1) * qb + 1
    if tiled:
        rows, cols = grid
        n += (qt * cols + 1) * (qt * rows)
    return n


def tokens(grid, base: int, tile: int, tiled: bool, delimiters: int = 0) -> Tokens:
    n = image_tokens(grid, base, tile, tiled)
    return Tokens(n + delimiters, n)


@dataclass(frozen=True)
class DeepseekOcrPlan(Plan):
    tiled: bool  # local tiles are encoded besides the global view
    tile_size: int  # side of a local tile
    tiles_resized: tuple[int, int]  # [h, w] the image is resized to for the tiles ((0, 0) without tiles)
    global_size: int  # side of the global view canvas


def make_plan(image_hw, global_inner, base: int, offset, tiled: bool, grid, tile: int, tok: Tokens,
              n_images: int | None = None) -> DeepseekOcrPlan:
    """``resized``/``canvas``/``pad_offset`` describe the global view; the tiles are in ``grid`` and
    ``tiles_resized``; ``num_images`` is what the encoder is fed (tiles or fused tile rows, plus the view)."""
    rows, cols = grid if tiled else (1, 1)
    n = n_images if n_images is not None else (rows * cols + 1 if tiled else 1)
    return DeepseekOcrPlan(**summary_fields(image_hw, global_inner, (base, base), offset, (rows, cols), n, tok),
                           tiled=bool(tiled), tile_size=int(tile),
                           tiles_resized=(rows * tile, cols * tile) if tiled else (0, 0), global_size=int(base))


def pad_geometry_pillow(width: int, height: int, size: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """``PIL.ImageOps.pad(image, (size, size))`` (Pillow 13 ``contain`` then a centred paste) ->
    ([h, w] of the fitted image, [top, left] offset). Python ``round`` (half to even) at both steps."""
    w, h = size, size
    if width / height > 1:  # im_ratio > dest_ratio (1)
        h = round(height / width * size)
    elif width / height < 1:
        w = round(width / height * size)
    top = round((size - h) * 0.5) if w == size else 0
    left = round((size - w) * 0.5) if w != size else 0
    return (h, w), (top, left)
