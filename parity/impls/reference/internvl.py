"""InternVL reference: a port of the authors' ``load_image`` (OpenGVLab/InternVL3-8B model card) whose helpers are
OpenGVLab/InternVL@2410d1d ``internvl_chat/internvl/train/dataset.py`` ``dynamic_preprocess`` /
``find_closest_aspect_ratio`` / ``build_transform(is_train=False, input_size=448)``.

What the authors' code does, step by step (each step below calls the same Pillow / torchvision function):
1. ``Image.open(f).convert('RGB')`` (no EXIF transpose, alpha dropped: decoder profile ``pil-drop-alpha``);
2. the grid: ``parity.families.internvl`` with the authors' candidate order (a Python set sorted by area);
3. ``image.resize((cols * 448, rows * 448))``: Pillow's default filter (BICUBIC for RGB);
4. ``resized.crop(box)`` row-major; when more than one tile, ``image.resize((448, 448))`` (the thumbnail);
5. per tile ``build_transform``: ``T.Resize((448, 448), BICUBIC)`` (a same-size copy here), ``T.ToTensor()``,
   ``T.Normalize(IMAGENET_MEAN, IMAGENET_STD)``; ``torch.stack``.
Checked against the authors' functions run on the same pixels (tests/oracles/internvl-reference).
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as F

from parity.families import internvl as geometry
from parity.trace import TraceBuilder


def tiles_pil(img: Image.Image, grid: tuple[int, int], tile: int) -> tuple[Image.Image, list[Image.Image]]:
    """Steps 3-4: the resized image and the tiles (then the thumbnail) as the authors' PIL calls make them."""
    rows, cols = grid
    resized = img.resize((cols * tile, rows * tile))  # Pillow's default filter, as dynamic_preprocess calls it
    tiles = [resized.crop((c * tile, r * tile, (c + 1) * tile, (r + 1) * tile)) for r in range(rows) for c in range(cols)]
    if len(tiles) != 1:
        tiles.append(img.resize((tile, tile)))
    return resized, tiles


def transform(tile_img: Image.Image, tile: int, mean, std) -> torch.Tensor:
    """Step 5: build_transform's Resize / ToTensor / Normalize on one tile."""
    x = F.resize(tile_img, [tile, tile], interpolation=InterpolationMode.BICUBIC)
    return F.normalize(F.to_tensor(x), mean=list(mean), std=list(std))


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    tile = preset["tile_size"]
    h, w = rgb.shape[:2]
    plan = geometry.plan(h, w, tile, preset["min_tiles"], preset["max_tiles"], preset["image_seq_length"],
                         variant="reference")
    tb.add("plan", plan.to_dict(), "plan")
    resized, tiles = tiles_pil(Image.fromarray(rgb), plan.grid, tile)
    tb.add("resize", np.asarray(resized), "HWC", note=f"PIL Image.resize default filter to {resized.size[1]}x{resized.size[0]}")
    tb.add("tiles", np.stack([np.asarray(t).transpose(2, 0, 1) for t in tiles]), "images,C,H,W uint8",
           note="crops row-major, then the thumbnail")
    x = torch.stack([transform(t, tile, preset["image_mean"], preset["image_std"]) for t in tiles]).numpy()
    tb.add("normalize", x, "images,C,H,W")
    tb.add("pack", x, "images,C,H,W")
