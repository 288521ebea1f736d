"""LLaVA-1.5 / MobileVLM ``reference``: the LLaVA repo's own ``process_images`` (llava-torch
1.2.2.post1 = haotian-liu/LLaVA v1.2.2, ``llava/mm_utils.py``), through its port
``parity.impls.reference.llava_mm_utils`` (the package pins torch 2.0.1 / transformers 4.36.2 and
cannot be installed here; the port is checked against it in tests/impls/test_llava_mm_utils_port.py).

``image_aspect_ratio == "pad"``: ``expand2square`` with the mean colour, then the vision tower's
CLIPImageProcessor ``preprocess`` (shortest-edge bicubic resize, center crop, rescale, normalize).
MobileVLM's ``mobilevlm/utils.py`` ``process_images`` (Meituan-AutoML/MobileVLM@5d53a99) is the same
code, so the same call serves both presets.

The CLIP processor is transformers' ``CLIPImageProcessorPil`` built from the preset values (the
tower's preprocessor_config.json); LLaVA pinned transformers 4.36.2, whose CLIPImageProcessor was the
same PIL/NumPy pipeline — not re-run here.

Stages: ``pad`` is the real ``expand2square`` output; ``resize`` / ``tiles`` / ``normalize`` call the
same processor's methods in its ``_preprocess`` order; ``pack`` is the real ``process_images`` output.
"""

from __future__ import annotations

import numpy as np
from PIL import Image
from transformers import CLIPImageProcessorPil

from parity.arrays import hwc
from parity.errors import ParityError
from parity.families import llava as geometry
from parity.impls.reference import llava_mm_utils as mm
from parity.trace import TraceBuilder

_PIL_RESAMPLE = {"nearest": 0, "lanczos": 1, "bilinear": 2, "bicubic": 3, "box": 4, "hamming": 5}


def clip_processor(preset, side: int | None = None):
    """The vision tower's CLIPImageProcessor (PIL backend) from the preset values."""

    side = side or preset["image_size"]
    crop = preset.get("crop_size", side)
    return CLIPImageProcessorPil(
        size={"shortest_edge": side}, crop_size={"height": crop, "width": crop},
        resample=_PIL_RESAMPLE[preset["resample"]], do_center_crop=True, do_resize=True, do_rescale=True,
        do_normalize=True, do_convert_rgb=True, rescale_factor=preset["rescale_factor"],
        image_mean=list(preset["image_mean"]), image_std=list(preset["image_std"]))




def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    proc = clip_processor(preset)
    aspect = preset["image_aspect_ratio"]
    if aspect not in ("pad", None):
        raise ParityError(f"llava reference recipe handles image_aspect_ratio 'pad', got {aspect!r}")
    pad = aspect == "pad"
    h, w = rgb.shape[:2]
    crop = preset.get("crop_size", preset["image_size"])
    tokens = geometry.tokens_reference(crop, preset["patch_size"], preset.get("projector_tokens"))
    tb.add("plan", geometry.plan(h, w, preset["image_size"], crop, pad, tokens).to_dict(), "plan")
    image = Image.fromarray(rgb)
    if pad:
        image = mm.expand2square(image, tuple(int(x * 255) for x in proc.image_mean))
        tb.add("pad", np.asarray(image), "HWC", note="expand2square with the mean colour")
    # the processor's own steps, in PilBackend._preprocess order, for the intermediate stages
    x = np.moveaxis(np.asarray(image), -1, 0)
    x = proc.resize(image=x, size=proc.size, resample=proc.resample)
    tb.add("resize", hwc(x), "HWC")
    x = proc.center_crop(x, proc.crop_size)
    tb.add("tiles", x[None], "tiles,C,H,W uint8", note="center crop")
    x = proc.normalize(proc.rescale(x, proc.rescale_factor), proc.image_mean, proc.image_std)
    tb.add("normalize", x, "C,H,W")
    pack = mm.process_images([Image.fromarray(rgb)], proc, aspect)
    tb.add("pack", np.asarray(pack), "batch,C,H,W", note="llava.mm_utils.process_images (port)")
