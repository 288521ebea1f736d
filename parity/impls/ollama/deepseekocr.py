"""DeepSeek-OCR in ollama f63eea3: ``model/models/deepseekocr/imageprocessor.go`` (``ProcessImage``) and
``model.go`` (``EncodeMultimodal``, ``PostTokenize``).

No composite first: the tiles are cut from the decoded image itself (transparent pixels premultiplied, i.e. over
black). Constants in the code, not the GGUF: 2..9 tiles of 640, a 1024 global view, mean = std = 0.5.

1. Always tiled: the (x, y) grid among ``targetRatios`` in loop order (no sort), ``findBestAspectRatio`` in float64
   -- on an exact tie the later grid wins when the image area exceeds half of the grid kept *so far* (the authors'
   code tests the candidate); the image resized to (640x, 640y) with x/image bilinear; tile i drawn (``draw.Over``
   onto a zero ``*image.RGBA``: a copy) from (i % x * 640, i / x * 640), normalized channel-first.
2. Global view: ``CompositeColor`` over black, then ``imageproc.Pad`` to 1024x1024 with grey 127: a landscape image
   (w > h) gets height 1024*h/w (integer division) at the top offset (1024-height)/2, otherwise width 1024*w/h at
   left offset (1024-width)/2; scaled into that rectangle with bilinear.
3. Fed as ``FromFloats(patches, 640, 640, 3, blocks)`` then ``FromFloats(global, 1024, 1024, 3)``; the model
   encodes the tiles first, then the global view and the view separator.
"""

from __future__ import annotations

import numpy as np

from parity.decode.go import GoImage, premultiplied_rgba8
from parity.families import deepseek_ocr as geometry
from parity.families.tile_ratios import candidate_grids, closest_grid_f64
from parity.trace import TraceBuilder, sealed

from .imageproc import STANDARD_MEAN, STANDARD_STD, normalize_chw_ollama, resize_bilinear_ollama, rgb_of

MIN_NUM, MAX_NUM, IMAGE_SIZE, BASE_SIZE = 2, 9, 640, 1024  # ProcessImage's constants
PAD_GREY = 127


def pad_rect_ollama(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """``imageproc.Pad``'s destination rectangle -> (x0, y0, x1, y1)."""
    if width > height:  # landscape
        h = size * height // width  # Go integer division (both positive)
        y0 = (size - h) // 2
        return 0, y0, size, h + y0
    w = size * width // height
    x0 = (size - w) // 2
    return x0, 0, x0 + w, size


def stages_deepseekocr(img: GoImage, preset, tb: TraceBuilder) -> None:
    h, w = img.size
    cols, rows = closest_grid_f64(float(w) / float(h), candidate_grids(MIN_NUM, MAX_NUM), float(w * h), IMAGE_SIZE,
                                  tie_area_of_best=True)
    x0, y0, x1, y1 = pad_rect_ollama(w, h, BASE_SIZE)
    tok = geometry.tokens((rows, cols), BASE_SIZE, IMAGE_SIZE, True)
    plan = geometry.make_plan((h, w), (y1 - y0, x1 - x0), BASE_SIZE, (y0, x0), True, (rows, cols), IMAGE_SIZE, tok)
    tb.add("plan", plan.to_dict(), "plan", note="always tiled; candidates in loop order (no sort)")
    resized = resize_bilinear_ollama(img, (rows * IMAGE_SIZE, cols * IMAGE_SIZE))
    tb.add("resize", rgb_of(resized), "HWC", note=f"tile grid {rows}x{cols} of {IMAGE_SIZE}, from the decoded image")
    tiles = (resized.reshape(rows, IMAGE_SIZE, cols, IMAGE_SIZE, 4).transpose(0, 2, 1, 3, 4)
             .reshape(rows * cols, IMAGE_SIZE, IMAGE_SIZE, 4))
    # global view: CompositeColor over black = the premultiplied bytes made opaque; Pad onto grey 127
    over_black = premultiplied_rgba8(img).copy()  # the decoded image's own bytes: not written to
    over_black[..., 3] = 0xFF
    canvas = np.full((BASE_SIZE, BASE_SIZE, 4), PAD_GREY, dtype=np.uint8)
    canvas[..., 3] = 0xFF
    if x1 > x0 and y1 > y0:  # an empty rectangle draws nothing
        # an opaque source: Over leaves nothing of the grey inside the rectangle
        canvas[y0:y1, x0:x1] = resize_bilinear_ollama(over_black, (y1 - y0, x1 - x0))
    tb.add("pad", rgb_of(canvas), "HWC", note=f"global view: fitted {x1 - x0}x{y1 - y0} at ({x0}, {y0}) on grey 127")
    tb.add("tiles", np.stack([rgb_of(t) for t in tiles]), "tiles,H,W,C", note="row-major")
    local = normalize_chw_ollama_batch(tiles)
    glob = normalize_chw_ollama(canvas, STANDARD_MEAN, STANDARD_STD)
    tb.add("normalize", (local, glob), "(tiles,C,H,W; C,H,W)")
    tb.add("pack", (local, glob), "(tiles,C,H,W; C,H,W)", note="FromFloats(patches, 640, 640, 3, blocks), "
           "then FromFloats(global, 1024, 1024, 3)")


def normalize_chw_ollama_batch(tiles: np.ndarray) -> np.ndarray:
    """``Normalize`` (channel-first) of each tile, concatenated in order: (tiles, 3, H, W), read-only."""
    return sealed(np.stack([normalize_chw_ollama(t, STANDARD_MEAN, STANDARD_STD) for t in tiles]))
