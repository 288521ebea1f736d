"""LLaVA-1.5 / MobileVLM stages from transformers' own code (transformers 5.23.0):
``CLIPImageProcessor{,Pil}`` (the class llava-hf's and the CLIP vision towers' configs name) and
``LlavaImageProcessor{,Pil}`` (``models/llava/image_processing{,_pil}_llava.py``), which adds
``do_pad`` = pad to square with the mean colour before resizing.

PIL backend order (``PilBackend._preprocess`` / ``LlavaImageProcessorPil._preprocess``): [pad_to_square]
-> resize (shortest edge) -> center_crop -> rescale -> normalize.
torchvision backend order (``TorchvisionBackend._preprocess`` / ``LlavaImageProcessor._preprocess``):
[pad_to_square] -> resize -> center_crop -> fused rescale_and_normalize.
"""

from __future__ import annotations

import numpy as np
from transformers.image_utils import ChannelDimension

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import llava as geometry
from parity.trace import TraceBuilder


def _pads_to_square(proc, kw: dict) -> bool:
    """LlavaImageProcessor's do_pad pads to square; any other processor's do_pad is a batch pad we
    have no recipe for."""
    if not kw.get("do_pad"):
        return False
    if not hasattr(proc, "pad_to_square"):
        raise ParityError(f"{type(proc).__name__} with do_pad=True has no llava stage recipe")
    return True


def _plan(kw: dict, h: int, w: int, pad: bool, preset) -> dict:
    size, crop = kw["size"], kw["crop_size"]
    if not size.shortest_edge or crop.height != crop.width or not kw["do_resize"] or not kw["do_center_crop"]:
        raise ParityError(f"llava recipe needs a shortest_edge resize and a square center crop, got size={dict(size)}, "
                          f"crop_size={dict(crop)}")
    tokens = geometry.tokens_hf(crop.height, preset["patch_size"], preset["num_additional_image_tokens"],
                                preset["vision_feature_select_strategy"])
    return geometry.plan(h, w, size.shortest_edge, crop.height, pad, tokens).to_dict()




def stages_pil(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    pad = _pads_to_square(proc, kw)
    x = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(kw, x.shape[1], x.shape[2], pad, preset), "plan")
    if pad:
        x = proc.pad_to_square(x, background_color=tuple(int(m * 255) for m in kw["image_mean"]))
        tb.add("pad", hwc(x), "HWC", note="pad_to_square with the mean colour")
    x = proc.resize(image=x, size=kw["size"], resample=kw["resample"])
    tb.add("resize", hwc(x), "HWC")
    x = proc.center_crop(x, kw["crop_size"])
    tb.add("tiles", x[None], "tiles,C,H,W uint8", note="center crop")
    if kw["do_rescale"]:
        x = proc.rescale(x, kw["rescale_factor"])
    if kw["do_normalize"]:
        x = proc.normalize(x, kw["image_mean"], kw["image_std"])
    tb.add("normalize", x, "C,H,W")
    tb.add("pack", np.stack([x]), "batch,C,H,W")


def stages_torchvision(proc, kw: dict, rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    pad = _pads_to_square(proc, kw)
    chw = proc.process_image(rgb, do_convert_rgb=kw["do_convert_rgb"], input_data_format=ChannelDimension.LAST)
    tb.add("plan", _plan(kw, chw.shape[-2], chw.shape[-1], pad, preset), "plan")
    x = chw[None]  # _preprocess works on stacked groups of same-shape images
    if pad:
        x = proc.pad_to_square(images=x, background_color=tuple(int(m * 255) for m in kw["image_mean"]))
        tb.add("pad", hwc(x[0].numpy()), "HWC", note="pad_to_square with the mean colour")
    x = proc.resize(image=x, size=kw["size"], resample=kw["resample"])
    tb.add("resize", hwc(x[0].numpy()), "HWC")
    x = proc.center_crop(x, kw["crop_size"])
    tb.add("tiles", x.numpy(), "tiles,C,H,W uint8", note="center crop")
    x = proc.rescale_and_normalize(x, kw["do_rescale"], kw["rescale_factor"], kw["do_normalize"],
                                   kw["image_mean"], kw["image_std"])
    tb.add("normalize", x[0].numpy(), "C,H,W")
    tb.add("pack", x.numpy(), "batch,C,H,W")
