"""DeepSeek-OCR reference: the authors' preprocessing, ported, with Pillow and torchvision doing what they do in it.

Port of deepseek-ai/DeepSeek-OCR @ e4ac34e ``DeepSeek-OCR-master/DeepSeek-OCR-vllm/process/image_process.py``
(``DeepseekOCRProcessor.tokenize_with_images`` with cropping, ``dynamic_preprocess``, ``find_closest_aspect_ratio``,
``ImageTransform``), which the checkpoint's ``modeling_deepseekocr.py`` ``infer`` repeats (Gundam mode: base 1024,
tiles of 640, 2..9 tiles). The module cannot be imported as published (its ``config`` loads the tokenizer from the
hub at import time); tests/oracles/deepseek-ocr-reference/ holds outputs recorded by running that file unchanged
with a stand-in ``config`` and tokenizer, and the test checks this port against them.

Stages: ``plan``; ``resize`` (the tile-grid image, ``Image.resize`` with Pillow's default bicubic) and ``tiles``
(its 640-pixel crops, row-major) when tiled; ``pad`` (``ImageOps.pad`` to 1024 with grey 127); ``normalize`` and
``pack``: (``images_crop`` tiles,C,H,W; ``pixel_values`` C,H,W) as ``ToTensor`` + ``Normalize(0.5, 0.5)`` give them.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms as T
from PIL import Image, ImageOps

from parity.families import deepseek_ocr as geometry
from parity.families.tile_ratios import closest_grid_f64, ratios_python_set
from parity.trace import TraceBuilder


def _transform(preset):
    return T.Compose([T.ToTensor(), T.Normalize(tuple(preset["image_mean"]), tuple(preset["image_std"]))])


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    image = Image.fromarray(rgb)
    w, h = image.size
    base, tile = int(preset["base_size"]), int(preset["tile_size"])
    tiled = bool(preset["crop_mode"]) and not (w <= tile and h <= tile)
    grid = (1, 1)
    if tiled:  # dynamic_preprocess
        ratios = ratios_python_set(int(preset["min_crops"]), int(preset["max_crops"]))
        cols, rows = closest_grid_f64(w / h, ratios, w * h, tile)
        grid = (rows, cols)
        # a 1x1 grid is not "tiles": tokenize_with_images adds local views only for more than one tile
        tiled = cols > 1 or rows > 1
    inner, offset = geometry.pad_geometry_pillow(w, h, base)
    tok = geometry.tokens(grid, base, tile, tiled)
    tb.add("plan", geometry.make_plan((h, w), inner, base, offset, tiled, grid, tile, tok).to_dict(), "plan")
    transform = _transform(preset)
    crops = []
    if tiled:
        rows, cols = grid
        resized = image.resize((tile * cols, tile * rows))  # Pillow's default filter, as the authors call it
        tb.add("resize", np.asarray(resized), "HWC", note=f"tile grid {rows}x{cols} of {tile}")
        crops = [resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)) for r in range(rows)
                 for c in range(cols)]
        tb.add("tiles", np.stack([np.asarray(c) for c in crops]), "tiles,H,W,C", note="row-major")
    fill = tuple(int(x * 255) for x in preset["image_mean"])
    global_view = ImageOps.pad(image, (base, base), color=fill)
    tb.add("pad", np.asarray(global_view), "HWC", note=f"ImageOps.pad to {base}x{base} with {fill}")
    with torch.no_grad():
        glob = transform(global_view).numpy()
        local = np.stack([transform(c).numpy() for c in crops]) if crops else np.zeros((0, 3, tile, tile), np.float32)
    tb.add("normalize", (local, glob), "(tiles,C,H,W; C,H,W)")
    tb.add("pack", (local, glob), "(images_crop tiles,C,H,W; pixel_values C,H,W)",
           note="the model encodes the tiles, then the global view and the view separator")
