"""Step3-VL stages from transformers' own code (``models/step3p7/image_processing_step3p7.py``,
``Step3p7ImageProcessor``, transformers 5.23.0; torchvision backend only).

Order (``_preprocess`` -> ``_get_image_patches``): ``_plan_patches``; the square pad (``pad``) for a tiny-and-thin
image; the global view ``resize`` to the planned size then to 728x728; the crop image ``resize`` and
``divide_to_patches``; then the fused ``rescale_and_normalize`` of the global view, and of the windows after their
``resize`` to 504x504.

``pack`` is (``pixel_values_local`` windows,C,504,504; ``pixel_values`` 1,C,728,728): the model reads the windows
first, then the global view.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension, SizeDict

from parity.arrays import hwc
from parity.families import step3vl as geometry
from parity.trace import TraceBuilder


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    image_size, patch_size, resample = kw["size"].height, kw["patch_size"], kw["resample"]
    (gw, gh), (cw, ch), window, nx, ny, square = proc._plan_patches(w, h, image_size, patch_size)
    tok = geometry.tokens((ny, nx) if window else (0, 0), image_size, patch_size)
    plan = geometry.make_plan((h, w), (gh, gw), (ch, cw), (ny, nx), window, image_size, tok)
    tb.add("plan", plan.to_dict(), "plan")
    global_img, windows, _, _ = proc._get_image_patches(chw, image_size, patch_size, resample)
    tb.add("resize", hwc(global_img.numpy()), "HWC", note=f"global view: {gw}x{gh}, then {image_size}x{image_size}")
    local = None
    if windows:
        # the windows keep their raw sizes (edge ones can be partial); each is resized to patch_size
        resized = [proc.resize(p[None], SizeDict(height=patch_size, width=patch_size), resample=resample)[0]
                   for p in windows]
        tb.add("tiles", np.stack([hwc(p.numpy()) for p in resized]), "windows,H,W,C",
               note=f"{ny}x{nx} windows of {window}, row-major, each resized to {patch_size}")
        local = proc.rescale_and_normalize(torch.stack(resized), kw["do_rescale"], kw["rescale_factor"],
                                           kw["do_normalize"], kw["image_mean"], kw["image_std"])
    glob = proc.rescale_and_normalize(global_img[None], kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                      kw["image_mean"], kw["image_std"])
    local_np = local.numpy() if local is not None else np.zeros((0, 3, patch_size, patch_size), np.float32)
    tb.add("normalize", (local_np, glob.numpy()), "(windows,C,H,W; 1,C,H,W)")
    tb.add("pack", (local_np, glob.numpy()), "(pixel_values_local windows,C,H,W; pixel_values 1,C,H,W)",
           note="the model reads the windows first, then the global view")
