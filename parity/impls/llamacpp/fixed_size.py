"""``mtmd_image_preprocessor_fixed_size`` (LLaVA-1.5, MobileVLM, Gemma 3): one resize to a square.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570. The image is resized to
``image_size`` x ``image_size`` with ``image_resize_algo`` and ``image_resize_pad`` (aspect-preserving pad
with ``image_pad_color`` unless ``PAD_NONE``): LLaVA-1.5 resizes *then* pads with (122, 116, 104),
where the HF processor pads to a square first.
"""

from __future__ import annotations

import numpy as np

from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed, resize_llamacpp


def preprocess_fixed_size(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    sz = hp.image_size
    step = resize_llamacpp(img, sz, sz, hp.resize_algo, hp.resize_pad, hp.pad_color, "image")
    plan = {"preprocessor": "fixed_size", "original": [img.shape[1], img.shape[0]], "resize": [step.plan],
            "chunks": ["image"]}
    return Preprocessed(plan, (step,), (step.output,), ("image",))
