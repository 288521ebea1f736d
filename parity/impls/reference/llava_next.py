"""LLaVA-NeXT ``reference``: the LLaVA repo's own anyres path (llava-torch 1.2.2.post1 =
haotian-liu/LLaVA v1.2.2, ``llava/mm_utils.py`` ``process_images`` -> ``process_anyres_image``), through
its port ``parity.impls.reference.llava_mm_utils``.

``select_best_resolution`` over the pinpoints read as (width, height) -> ``resize_and_pad_image``
(PIL ``Image.resize`` default filter = bicubic, ceil fit, black centred pad) -> ``divide_to_patches``,
overview = ``image.resize((shortest_edge, shortest_edge))`` first, each patch through the vision
tower's CLIPImageProcessor ``preprocess``.

granite-vision-3.1: IBM publishes no preprocessing code of its own (its model card uses transformers),
so this runs the LLaVA-NeXT authors' algorithm with granite's values (384 tiles, its 27 pinpoints,
mean/std 0.5) through a CLIP-style processor of side 384 — a real SigLIP processor has no
``size['shortest_edge']``, which ``process_anyres_image`` reads.

Stages: ``pad`` is the real ``resize_and_pad_image`` output and ``resize`` the fitted image inside it
(pasting copies pixels, so cropping the pad back out is exact); ``tiles`` are the real
``divide_to_patches`` output after the overview, which is recomputed with the same single PIL call;
``pack`` is the real ``process_images`` output.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from parity.families import llava_next as geometry
from parity.trace import TraceBuilder

from . import llava_mm_utils as mm
from .llava import clip_processor


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    side, tile = preset["image_size"], preset["crop_size"]
    proc = clip_processor(preset, side)
    pinpoints = [list(p) for p in preset["image_grid_pinpoints"]]
    h, w = rgb.shape[:2]
    def tokens(image_hw, grid):
        return geometry.tokens_reference(image_hw, grid, tile, preset["patch_size"])

    plan = tb.add("plan", geometry.plan(h, w, pinpoints, tile, order="wh", tokens=tokens).to_dict(), "plan")
    image = Image.fromarray(rgb)
    best_w, best_h = mm.select_best_resolution(image.size, pinpoints)
    padded = mm.resize_and_pad_image(image, (best_w, best_h))
    (top, left), (new_h, new_w) = plan["pad_offset"], plan["resized"]
    padded_arr = np.asarray(padded)
    tb.add("resize", padded_arr[top:top + new_h, left:left + new_w], "HWC",
           note="the fitted image, cut back out of resize_and_pad_image's canvas")
    tb.add("pad", padded_arr, "HWC", note="resize_and_pad_image")
    overview = image.resize((proc.size.shortest_edge, proc.size.shortest_edge))
    patches = [overview] + mm.divide_to_patches(padded, proc.crop_size.height)
    tb.add("tiles", np.stack([np.moveaxis(np.asarray(p), -1, 0) for p in patches]), "patches,C,H,W uint8",
           note="overview first, then row-major tiles")
    pack = mm.process_images([image], proc, "anyres", pinpoints)
    tb.add("pack", pack[0], "patches,C,H,W", note="llava.mm_utils.process_images (port)")
    tb.add("image_sizes", np.array([[h, w]], dtype=np.int64), "images,(h,w)",
           note="LLaVA passes image.size (w, h) to the model; recorded (h, w) to align with transformers")
