"""Llama 4 ``reference``: Meta's llama-models transforms, called for real (llama-models 0.3.0,
``models/llama4/preprocess.py`` ``VariableSizeImageTransform`` / ``ResizeNormalizeImageTransform``),
glued as ``models/llama4/chat_format.py`` ``ChatFormat._encode_content`` does: tiles from the
variable-size transform with ``max_num_chunks``; when there is more than one tile, the global tile
(``tv.Resize((tile, tile))`` on the PIL image, ToTensor, Normalize) appended last.

Arithmetic is float32 (``tv.ToTensor`` + ``tv.Normalize``), resizing is PIL bilinear through
torchvision's PIL path; transformers instead resizes uint8 tensors with antialias and normalizes in
bfloat16 — both differences show at ``resize`` / ``normalize``.
"""

from __future__ import annotations

import numpy as np
import torch
from llama_models.llama4.preprocess import ResizeNormalizeImageTransform, VariableSizeImageTransform
from PIL import Image

from parity.families import llama4 as geometry
from parity.trace import TraceBuilder


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    tile, max_tiles = preset["tile_size"], preset["max_tiles"]
    to_max = preset.get("resize_to_max_canvas", False)
    transform = VariableSizeImageTransform(tile)
    image = Image.fromarray(rgb)
    w, h = image.size
    possible = torch.tensor(transform.find_supported_resolutions(max_num_chunks=max_tiles, patch_size=tile))
    best_w, best_h = transform.get_best_fit(image_size=(w, h), possible_resolutions=possible,
                                            resize_to_max_canvas=to_max)
    resized = transform.resize_without_distortion(image, (best_w, best_h), None if to_max else tile)
    padded = transform._pad(resized, (best_w, best_h))
    rows, cols = best_h // tile, best_w // tile
    per_tile = geometry.tokens_per_tile(tile, preset["patch_size"], preset["pixel_shuffle_ratio"])
    tb.add("plan", geometry.make_plan((h, w), (best_h, best_w), (resized.size[1], resized.size[0]), (rows, cols),
                                      geometry.tokens_meta((rows, cols), per_tile)).to_dict(), "plan")
    tb.add("resize", np.asarray(resized), "HWC")
    tb.add("pad", np.asarray(padded), "HWC")
    tb.add("normalize", transform.normalize(transform.to_tensor(padded)).numpy(), "C,H,W canvas")
    tiles, ar = transform(image, max_num_chunks=max_tiles, resize_to_max_canvas=to_max)
    if tiles.shape[0] > 1:
        glob = ResizeNormalizeImageTransform(tile, tile)(image)
        tiles = torch.cat((tiles, glob.unsqueeze(0)), dim=0)
    tb.add("tiles", tiles.numpy(), "tiles,C,H,W", note="row-major tiles, then the global tile")
    tb.add("pack", tiles.numpy(), "tiles,C,H,W")
    tb.add("aspect_ratios", np.array([list(ar)], dtype=np.int64), "images,(rows,cols)")
