"""Pixtral reference: Mistral's own ``mistral-common`` image encoder (1.13.1,
``mistral_common/tokens/tokenizers/image.py``), as used by mistral-inference and vLLM for
mistralai/Pixtral-12B-2409.

Stages, each from the package's own functions:
- plan: ``ImageEncoder._image_to_num_tokens`` (fit into max_image_size with ``round``, clamped to >= 1
  pixel; then tokens = (side - 1) // patch + 1);
- resize: ``cv2.resize(np.array(_convert_to_rgb(image), dtype=float32), (w, h), INTER_CUBIC)`` as
  ``transform_image`` does — float32, not clamped to [0, 255], recorded as such;
- normalize / pack: the package's ``normalize`` (x / 255, - mean, / std, HWC -> CHW).

Findings this surfaces against hf-*: OpenCV bicubic on float32 (no clamping, no uint8 rounding, no
antialias when shrinking) instead of PIL bicubic on uint8; ``round`` instead of ``floor`` when
fitting (sizes can differ by one patch); thin images (side / ratio < 0.5) that HF cannot resize work.

Decode: ``pil-hf`` policy. mistral-common ``_convert_to_rgb`` converts non-RGB images to RGBA and pastes
them over white with their alpha as mask: the same pixels as ``pil-hf``'s alpha composite over white
(checked equal on random RGBA).
"""

from __future__ import annotations

import cv2
import numpy as np
from mistral_common.tokens.tokenizers import image as mc
from mistral_common.tokens.tokenizers.image import ImageConfig, ImageEncoder, SpecialImageIDs
from PIL import Image

from parity.families import pixtral as geometry
from parity.trace import TraceBuilder


def encoder(preset):

    config = ImageConfig(image_patch_size=preset["patch_size"], max_image_size=preset["max_image_size"],
                         spatial_merge_size=preset["spatial_merge_size"])
    # token ids do not affect the pixels; Pixtral-12B's tekken.json uses img=10, img_break=12, img_end=13
    return ImageEncoder(config, SpecialImageIDs(img=10, img_break=12, img_end=13))


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    enc = encoder(preset)
    pil = Image.fromarray(rgb)
    w_tok, h_tok = enc._image_to_num_tokens(pil)
    patch = preset["patch_size"] * preset["spatial_merge_size"]
    h, w = rgb.shape[:2]
    ratio = max(h / preset["max_image_size"], w / preset["max_image_size"])
    fitted = [max(round(h / ratio), 1), max(round(w / ratio), 1)] if ratio > 1 else [h, w]
    tb.add("plan", geometry.make_plan((h, w), fitted, (h_tok * patch, w_tok * patch), preset["patch_size"],
                                      geometry.tokens_mistral((h_tok, w_tok))).to_dict(), "plan")
    resized = cv2.resize(np.array(mc._convert_to_rgb(pil), dtype=np.float32), (w_tok * patch, h_tok * patch),
                         interpolation=cv2.INTER_CUBIC)
    tb.add("resize", resized, "HWC float32", note="cv2.resize INTER_CUBIC on float32, unclamped")
    x = mc.normalize(resized.copy(), mc.DATASET_MEAN, mc.DATASET_STD)
    tb.add("normalize", x, "C,H,W")
    tb.add("pack", x, "C,H,W")
    tb.add("image_sizes", np.array([x.shape[1:]], dtype=np.int64), "images,hw",
           note="not a mistral-common output: the pack's (H, W), as its consumers (vLLM) derive it")
