"""Phi-4-multimodal stages from transformers' own code
(``models/phi4_multimodal/image_processing_phi4_multimodal.py``, transformers 5.23.0). transformers
has only the torchvision backend for it.

Order (``Phi4MultimodalImageProcessor._preprocess``): dynamic_preprocess (aspect-kept resize of the
uint8 tensor, white padding to the crop canvas, attention mask) -> fused rescale_and_normalize ->
resize of the normalized canvas to 448x448 (global image, bicubic, no antialias) -> crops row-major
-> [global, crops].

``resize`` is the image part of dynamic_preprocess's padded output (padding is only right/bottom);
``pack`` is ``image_pixel_values`` of the image; side outputs: image_sizes, image_attention_mask,
num_img_tokens.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension

from parity.arrays import hwc
from parity.families import phi4mm
from parity.trace import TraceBuilder


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size, patch = kw["size"], kw["patch_size"]
    mask_size = size.height // patch
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    # geometry as the family module states it; the test checks it against image_sizes/num_img_tokens
    plan = phi4mm.plan(int(h), int(w), size.height, patch, kw["dynamic_hd"])
    tb.add("plan", plan.to_dict(), "plan")
    padded, mask = proc.dynamic_preprocess(chw, size.height, patch, mask_size, max_num=kw["dynamic_hd"])
    tb.add("resize", hwc(padded[:, : plan.resized[0], : plan.resized[1]].numpy()), "HWC")
    tb.add("pad", hwc(padded.numpy()), "HWC")
    x = proc.rescale_and_normalize(padded, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x.numpy(), "C,H,W canvas")
    global_image = proc.resize(x, size, resample=kw["resample"], antialias=False)
    ch, cw = x.shape[-2:]
    crops = (x.reshape(1, 3, ch // size.height, size.height, cw // size.width, size.width)
             .permute(0, 2, 4, 1, 3, 5).reshape(-1, 3, size.height, size.width))
    tb.add("tiles", crops.numpy(), "crops,C,H,W")
    tb.add("pack", torch.cat([global_image[None], crops], dim=0).numpy(), "images,C,H,W (global first)")
    mh, mw = mask.shape
    crop_masks = (mask.reshape(mh // mask_size, mask_size, mw // mask_size, mask_size).transpose(1, 2)
                  .reshape(-1, mask_size, mask_size))
    full_mask = torch.cat([torch.ones((1, mask_size, mask_size)), crop_masks], dim=0)
    tb.add("image_sizes", np.array([[ch, cw]], dtype=np.int64), "images,hw")
    tb.add("image_attention_mask", full_mask.numpy(), "images,mask_h,mask_w")
    tb.add("num_img_tokens", np.array([plan.num_tokens], dtype=np.int64), "images")
