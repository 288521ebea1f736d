"""Phi-4-multimodal reference: a port of the authors' remote code ``processing_phi4mm.py``
(microsoft/Phi-4-multimodal-instruct on the Hugging Face hub, ``Phi4MMImageProcessor``; read from a
public mirror of that file), which ``AutoProcessor.from_pretrained(..., trust_remote_code=True)`` runs.

The remote code is not importable here (no hub access), so its glue is ported and its pixel work is
done by the same library calls it makes:
- ``image.convert('RGB')``;
- ``dynamic_preprocess``: geometry as in ``parity.families.phi4mm``, then
  ``torchvision.transforms.functional.resize(PIL image, [h, w])`` (PIL bilinear on a PIL image) and
  ``torchvision.transforms.functional.pad(..., [0, 0, pad_w, pad_h], fill=[255, 255, 255])``;
- ``ToTensor()`` + ``Normalize((0.5,)*3, (0.5,)*3)``;
- global image: ``torch.nn.functional.interpolate(canvas[None].float(), (448, 448), mode='bicubic')``;
- crops: reshape (1, 3, rows, 448, cols, 448) -> permute (0, 2, 4, 1, 3, 5) -> (n, 3, 448, 448);
  ``pack`` = [global, crops...].

Findings this surfaces against hf-torchvision: HF resizes the uint8 tensor with torchvision's
antialiased bilinear kernel (not PIL's) and normalizes with the fused (x - 127.5) / 127.5 instead of
(x / 255 - 0.5) / 0.5.
"""

from __future__ import annotations

import numpy as np
import torch
import torchvision.transforms as T
import torchvision.transforms.functional as TF
from PIL import Image

from parity.families import phi4mm
from parity.trace import TraceBuilder


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    tile, patch = preset["tile_size"], preset["patch_size"]
    mask_size = tile // patch
    h, w = rgb.shape[:2]
    plan = phi4mm.plan(h, w, tile, patch, preset["max_crops"])
    tb.add("plan", plan.to_dict(), "plan")
    image = Image.fromarray(rgb).convert("RGB")
    resized = TF.resize(image, [plan.resized[0], plan.resized[1]])
    tb.add("resize", np.asarray(resized), "HWC", note="torchvision F.resize on a PIL image: PIL bilinear")
    fill = [preset["pad_value"]] * 3
    padded = TF.pad(resized, [0, 0, plan.padding[1], plan.padding[0]], fill=fill)
    tb.add("pad", np.asarray(padded), "HWC")
    to_model = T.Compose([T.ToTensor(), T.Normalize(preset["image_mean"], preset["image_std"])])
    x = to_model(padded)
    tb.add("normalize", x.numpy(), "C,H,W canvas")
    global_image = torch.nn.functional.interpolate(x[None].float(), size=(tile, tile), mode="bicubic").to(x.dtype)
    ch, cw = plan.canvas
    crops = (x.reshape(1, 3, ch // tile, tile, cw // tile, tile).permute(0, 2, 4, 1, 3, 5)
             .reshape(-1, 3, tile, tile).contiguous())
    tb.add("tiles", crops.numpy(), "crops,C,H,W")
    tb.add("pack", torch.cat([global_image, crops], dim=0).numpy(), "images,C,H,W (global first)")
    mask = phi4mm.attention_mask(plan.grid[0], plan.grid[1], plan.padding[0], plan.padding[1], mask_size, patch)
    crop_masks = (mask.reshape(plan.grid[0], mask_size, plan.grid[1], mask_size).transpose(0, 2, 1, 3)
                  .reshape(-1, mask_size, mask_size))
    tb.add("image_sizes", np.array([[ch, cw]], dtype=np.int64), "images,hw")
    tb.add("image_attention_mask", np.concatenate([np.ones((1, mask_size, mask_size), np.float32), crop_masks]),
           "images,mask_h,mask_w")
    tb.add("num_img_tokens", np.array([plan.num_tokens], dtype=np.int64), "images")
