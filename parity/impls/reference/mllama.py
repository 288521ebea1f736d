"""Llama 3.2 Vision ``reference``: Meta's llama-models image transform, called for real
(llama-models 0.3.0, ``models/llama3/multimodal/image_transform.py`` ``VariableSizeImageTransform``;
``models/llama3/multimodal/model.py`` builds it with ``size=vision_chunk_size`` and
``max_num_chunks=vision_max_num_chunks``).

``__call__``: find_supported_resolutions -> get_best_fit (the (a, b) grid list read as (width, height))
-> resize_without_distortion (torchvision ``F.resize`` on the PIL image = PIL bilinear, upscaling capped
at one chunk) -> _pad (black, top-left paste) -> ToTensor -> Normalize (CLIP mean/std, float32) ->
_split row-major. The intermediate stages call those same methods in that order; ``pack`` is the
real ``__call__`` output.
"""

from __future__ import annotations

import numpy as np
import torch
from llama_models.llama3.multimodal.image_transform import VariableSizeImageTransform
from PIL import Image

from parity.families import mllama as geometry
from parity.trace import TraceBuilder


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    tile, max_tiles = preset["tile_size"], preset["max_tiles"]
    transform = VariableSizeImageTransform(size=tile)
    image = Image.fromarray(rgb)
    w, h = image.size
    possible = torch.tensor(transform.find_supported_resolutions(max_num_chunks=max_tiles, patch_size=tile))
    best_w, best_h = transform.get_best_fit(image_size=(w, h), possible_resolutions=possible)
    resized = transform.resize_without_distortion(image, (best_w, best_h), tile)
    padded = transform._pad(resized, (best_w, best_h))
    rows, cols = best_h // tile, best_w // tile
    grid = (rows, cols)
    tb.add("plan", geometry.make_plan(
        (h, w), (best_h, best_w), (resized.size[1], resized.size[0]), grid,
        geometry.aspect_ratio_id(grid, max_tiles),
        rows * cols * geometry.vision_tokens_per_tile(tile, preset["patch_size"])).to_dict(), "plan",
        note="aspect_ratio_id: llama-models' own list indexed like transformers' (the model's embedding)")
    tb.add("resize", np.asarray(resized), "HWC")
    tb.add("pad", np.asarray(padded), "HWC")
    x = transform.normalize(transform.to_tensor(padded))
    tb.add("normalize", x.numpy(), "C,H,W canvas")
    tb.add("tiles", transform._split(x, cols, rows).numpy(), "tiles,C,H,W")
    pack, ar = transform(image, max_num_chunks=max_tiles)
    tb.add("pack", pack.numpy(), "tiles,C,H,W", note="VariableSizeImageTransform.__call__")
    tb.add("num_tiles", np.array([[pack.shape[0]]], dtype=np.int64), "batch,images")
