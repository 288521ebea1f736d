"""Gemma 4 reference: a port of Google DeepMind's own ``gemma`` library preprocessing
(google-deepmind/gemma @ 7691fd4: ``gemma/gm/nn/gemma4/vision/_preprocessing.py`` ``preprocess_image``,
and ``gemma/gm/nn/gemma4/vision/_encoder.py`` ``patchify_and_pad`` with ``_images.patchify``), which
``gm.text.ChatSampler`` runs for Gemma 4. The library is not importable here (kauldron, flax...), so
its numpy/PIL steps are ported:

- plan: ``get_target_dimensions`` (``parity.families.gemma4.target_size_gemma_library``) with the
  sampler's budget ``max_soft_tokens`` = 1120 (transformers' default is 280);
- resize: ``PIL.Image.resize((w, h), BICUBIC)`` on the uint8 RGB image, skipped when unchanged;
- normalize: ``image.astype(np.float32) / 255.0`` (HWC);
- pack: patches ``'(h p) (w q) c -> (h w) (p q c)'`` zero-padded to max_patches rows; positions (x, y),
  padded with -1.

Findings against hf-*: the 4x larger token budget (different size, grid and token count for most
images). Where the sizes agree the pixels should too: both resize with PIL bicubic on uint8; the
library divides by 255 in float32 where transformers multiplies by 1/255 in float64.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from parity.families import gemma4
from parity.trace import TraceBuilder

COMMIT = "google-deepmind/gemma@7691fd4 gemma/gm/nn/gemma4/vision/_preprocessing.py"


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:
    patch, kernel = preset["patch_size"], preset["pooling_kernel_size"]
    h, w = rgb.shape[:2]
    plan = gemma4.plan(h, w, patch, preset["reference_max_soft_tokens"], kernel, variant="gemma-library")
    tb.add("plan", plan.to_dict(), "plan")
    th, tw = plan.resized
    image = rgb if (th, tw) == (h, w) else np.array(Image.fromarray(rgb).resize((tw, th), resample=Image.BICUBIC))
    tb.add("resize", image, "HWC")
    x = image.astype(np.float32) / 255.0
    tb.add("normalize", x, "H,W,C")
    ph, pw = th // patch, tw // patch
    patches = x.reshape(ph, patch, pw, patch, 3).transpose(0, 2, 1, 3, 4).reshape(ph * pw, patch * patch * 3)
    ys, xs = np.meshgrid(np.arange(ph), np.arange(pw), indexing="ij")
    positions = np.stack([xs.ravel(), ys.ravel()], axis=-1).astype(np.int64)
    pad = plan.max_patches - plan.num_patches
    patches = np.concatenate([patches, np.zeros((pad, patches.shape[1]), np.float32)])
    positions = np.concatenate([positions, np.full((pad, 2), preset["position_pad_value"], np.int64)])
    tb.add("pack", patches, "max_patches,P*P*C (zero rows after the real patches)")
    tb.add("image_position_ids", positions, "max_patches,xy (-1 for padding)")
    tb.add("num_soft_tokens_per_image", np.array([plan.num_embeddings], dtype=np.int64), "images")
