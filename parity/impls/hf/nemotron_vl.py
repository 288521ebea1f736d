"""Nemotron 3 Nano Omni stages from transformers' own code
(``models/nemotron_h_omni/image_processing_nemotron_h_omni.py``, ``NemotronH_Omni_Reasoning_V3ImageProcessor``, transformers 5.23.0; torchvision backend only).

Order (``_preprocess``): the patch budget min(max_num_patches, max((max_model_len - 4) * merge^2, min_num_patches))
(at least ``min_num_patches``); ``get_patch_grid_size``; the image cast to float32 and ``resize``d (bicubic,
antialiased) to grid * patch unless it already has that size; the fused ``rescale_and_normalize``;
``convert_image_to_patches`` (row-major patches, each (C, P, P)).

``pack`` is ``pixel_values`` (patches, C*P*P), with ``image_grid_hw`` as a side output.
"""

from __future__ import annotations

import numpy as np
import torch
from transformers.image_utils import ChannelDimension, SizeDict
from transformers.models.nemotron_h_omni import image_processing_nemotron_h_omni as mod

from parity.families import nemotron_vl as geometry
from parity.trace import TraceBuilder


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    h, w = chw.shape[-2:]
    patch, merge = kw["patch_size"], round(1 / kw["downsample_ratio"])
    budget = max((kw["max_model_len"] - 4) * merge**2, kw["min_num_patches"])  # one image
    if kw["max_num_patches"]:
        budget = min(budget, kw["max_num_patches"])
    budget = max(budget, kw["min_num_patches"])
    gh, gw = mod.get_patch_grid_size(h, w, patch, merge, kw["min_num_patches"], budget)
    plan = geometry.make_plan((h, w), "dynamic", (gh * patch, gw * patch), (1, 1), (gh, gw), False,
                              geometry.tokens([(gh, gw)], merge))
    tb.add("plan", plan.to_dict(), "plan", note=f"patch budget {kw['min_num_patches']}..{budget}")
    x = chw[None].to(torch.float32)
    if (h, w) != (gh * patch, gw * patch):
        x = proc.resize(x, SizeDict(height=gh * patch, width=gw * patch), resample=kw["resample"])
    tb.add("resize", x[0].numpy(), "C,H,W float32 [0,255]", note="bicubic, antialiased, on float32")
    y = proc.rescale_and_normalize(x, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"], kw["image_mean"],
                                   kw["image_std"])
    tb.add("normalize", y[0].numpy(), "C,H,W")
    tb.add("pack", mod.convert_image_to_patches(y, patch)[0].numpy(), "patches,C*P*P (row-major patches)")
    tb.add("image_grid_hw", np.array([[gh, gw]], dtype=np.int64), "images,(h_patches,w_patches)")
