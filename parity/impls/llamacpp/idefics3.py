"""``mtmd_image_preprocessor_idefics3`` (Idefics3, SmolVLM): longest-edge resize, tiles, global image.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570. Two branches:
- the mmproj has ``clip.vision.preproc_image_size`` (``image_longest_edge``) and no pixel limits: resize
  so the longer side is that edge (the other side truncated, then made even), resize again up to whole
  ``image_size`` tiles, the global image is a resize *of that refined image* to one tile; every resize
  with ``image_resize_algo`` (Lanczos) and no pad;
- otherwise: ``calc_size_preserved_ratio`` aligned to ``image_size`` and the generic llava-uhd
  ``slice_image`` (bicubic overview and refined image, the refined one aspect-padded with black).
mtmd emits the tiles first and the global image last (``ov_img_first`` is false for idefics3).
"""

from __future__ import annotations

import math

import numpy as np

from parity.impls.llamacpp.dyn_size import smart_resize_llamacpp
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.llava_uhd import SliceInstructions, ordered_chunks, slice_image
from parity.impls.llamacpp.resize import Preprocessed, resize_llamacpp
from parity.kernels.pad_llamacpp import crop_llamacpp


def longest_edge_size(width: int, height: int, longest_edge: int) -> tuple[int, int]:
    aspect = width / height  # double in the C++
    if width >= height:
        rw, rh = longest_edge, int(longest_edge / aspect)
        rh += rh % 2
    else:
        rw, rh = int(longest_edge * aspect), longest_edge
        rw += rw % 2
    return rw, rh


def preprocess_idefics3(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    tile = hp.image_size
    if hp.image_longest_edge > 0 and hp.image_min_pixels <= 0 and hp.image_max_pixels <= 0:
        rw, rh = longest_edge_size(w, h, hp.image_longest_edge)
        gx, gy = (rw + tile - 1) // tile, (rh + tile - 1) // tile
        s1 = resize_llamacpp(img, rw, rh, hp.resize_algo, "none", (0, 0, 0), "resized")
        s2 = resize_llamacpp(s1.output, gx * tile, gy * tile, hp.resize_algo, "none", (0, 0, 0), "refined")
        s3 = resize_llamacpp(s2.output, tile, tile, hp.resize_algo, "none", (0, 0, 0), "overview")
        boxes = tuple((x * tile, y * tile, tile, tile) for y in range(gy) for x in range(gx))
        slices = tuple(crop_llamacpp(s2.output, *b) for b in boxes)
        steps = (s1, s2, s3)
        inst = SliceInstructions((tile, tile), (gx * tile, gy * tile), (gx, gy), boxes)
        branch = "longest_edge"
        overview = s3.output
    else:
        rw, rh = smart_resize_llamacpp(w, h, tile, max(0, hp.image_min_pixels), max(0, hp.image_max_pixels),
                                       hp.image_longest_edge)
        grid = (math.ceil(float(np.float32(rw) / np.float32(tile))),
                math.ceil(float(np.float32(rh) / np.float32(tile))))
        boxes = tuple((x, y, min(tile, rw - x), min(tile, rh - y))
                      for y in range(0, rh, tile) for x in range(0, rw, tile))
        inst = SliceInstructions((tile, tile), (rw, rh), grid, boxes)
        steps, overview, slices = slice_image(img, inst, hp)
        branch = "calc_size_preserved_ratio"
    chunks, roles = ordered_chunks(overview, slices, ov_first=False)
    plan = {"preprocessor": "idefics3", "branch": branch, "original": [w, h], **inst.to_dict(),
            "resize": [s.plan for s in steps], "chunks": list(roles)}
    return Preprocessed(plan, steps, chunks, roles)
