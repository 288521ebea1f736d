"""MiniCPM-V 2.6 ``reference``: a port of the checkpoint's remote code
``openbmb/MiniCPM-V-2_6`` ``image_processing_minicpmv.py`` (``MiniCPMVImageProcessor.preprocess``),
which no package publishes (it is loaded with trust_remote_code). Geometry lives in
``parity.families.minicpmv``; the pixel path, per slice, is:

1. PIL ``Image.resize(size, BICUBIC)`` of the RGB image (source: step 2 size; refined: step 4 size),
   ``Image.crop`` boxes row-major for the slices (``split_to_patches``);
2. ``np.asarray(slice).astype(np.float32) / 255`` then transformers ``image_transforms.normalize``
   (mean/std cast to float32, (x - mean) / std), then to CHW — with the channel axis inferred once from
   the original image, so an image 1 or 3 pixels high is taken as channels-first and rejected (kept:
   the reference raises ParityError there);
3. ``reshape_by_patch``: ``torch.nn.functional.unfold`` with a patch x patch kernel and stride, reshaped
   to (C, patch, patch, L), permuted to (C, patch, L, patch) and flattened to (C, patch, L * patch).

``pack`` is the ragged list of those (C, 14, L*14) arrays in order (source, then slices);
``tgt_sizes`` = (H / 14, W / 14) per slice; ``image_sizes`` = the PIL (w, h). Same functions in the
copies at theonlyengine/VQA_Model@287e3f85 and HwwwwwwwH/MiniCPM-V-2@3ce0a28d.
"""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image
from transformers.image_transforms import normalize, to_channel_dimension_format
from transformers.image_utils import ChannelDimension, infer_channel_dimension_format

from parity.errors import ParityError
from parity.families import minicpmv as geometry
from parity.trace import TraceBuilder


def reshape_by_patch(chw: np.ndarray, patch: int) -> np.ndarray:
    """Step 3, with the same torch ops as the remote code."""

    x = torch.from_numpy(np.ascontiguousarray(chw))
    cols = torch.nn.functional.unfold(x, (patch, patch), stride=(patch, patch))
    cols = cols.reshape(x.size(0), patch, patch, -1)
    return cols.permute(0, 1, 3, 2).reshape(x.size(0), patch, -1).numpy()


def normalize_slice(hwc_u8: np.ndarray, mean, std, channel_format) -> np.ndarray:
    """Step 2 (returns CHW float32). ``channel_format`` is inferred once from the *original* image, as
    the remote code does: an image 1 or 3 pixels high reads as channels-first, and transformers'
    normalize then rejects the slice (a bug of the original, reproduced)."""

    x = hwc_u8.astype(np.float32) / 255
    x = normalize(x, mean=np.array(mean), std=np.array(std), input_data_format=channel_format)
    return np.ascontiguousarray(to_channel_dimension_format(x, ChannelDimension.FIRST, input_channel_dim=channel_format))


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    res, patch, max_slices = preset["scale_resolution"], preset["patch_size"], preset["max_slice_nums"]
    h, w = rgb.shape[:2]
    plan = geometry.plan(h, w, res, patch, max_slices, preset["query_num"])
    tb.add("plan", plan.to_dict(), "plan")
    image = Image.fromarray(rgb)
    source = image.resize(plan.resized[::-1], resample=Image.Resampling.BICUBIC)
    slices, resized = [np.asarray(source)], [np.asarray(source)]
    if plan.num_images > 1:
        refined = image.resize(plan.refined[::-1], resample=Image.Resampling.BICUBIC)
        resized.append(np.asarray(refined))
        (rows, cols), (rh, rw) = plan.grid, plan.refined
        sh, sw = rh // rows, rw // cols
        slices += [np.asarray(refined.crop((j, i, j + sw, i + sh))) for i in range(0, rh, sh) for j in range(0, rw, sw)]
    tb.add("resize", tuple(resized), "HWC (source, refined)")
    tb.add("tiles", tuple(slices), "slices,H,W,C uint8", note="source first, then row-major slices")

    channel_format = infer_channel_dimension_format(rgb)
    try:
        normalized = tuple(normalize_slice(s, preset["image_mean"], preset["image_std"], channel_format)
                           for s in slices)
    except ValueError as e:
        raise ParityError(f"reference (MiniCPM-V remote code) fails on this {w}x{h} image: it infers the channel "
                          f"axis from the original image ({channel_format.value}), then normalize says: {e}") from None
    tb.add("normalize", normalized, "slices,C,H,W")
    tb.add("pack", tuple(reshape_by_patch(x, patch) for x in normalized), "slices,C,patch,L*patch")
    tb.add("tgt_sizes", np.array([[x.shape[1] // patch, x.shape[2] // patch] for x in normalized], dtype=np.int64),
           "slices,(h/patch,w/patch)")
    tb.add("image_sizes", np.array([[w, h]], dtype=np.int64), "images,(w,h)")
