"""Gemma 3 reference: Google DeepMind's own preprocessing in the ``gemma`` library
(google-deepmind/gemma @ 7691fd4, ``gemma/gm/vision/_preprocess.py`` ``pre_process_image`` and
``patchify_images``, called by ``gemma/gm/nn/vision/_vision.py`` ``SigLiPFromPatches.patchify_images``).

The library itself is not importable here (it needs kauldron, etils, TensorFlow...), so its three
steps are ported and their numerics done by the same JAX calls:
- ``jax.image.resize(image, (896, 896, 3), method="bilinear", antialias=True)`` on the uint8 image:
  the result is float32 and is **not** rounded back to uint8 (recorded as such);
- normalize: ``x -= 127.5; x /= 127.5`` in float32, then ``jnp.clip(x, -1, 1)`` (HWC);
- patchify: ``jax.lax.conv_general_dilated_patches`` (14x14, stride 14, Precision.HIGH) and
  ``"b ph pw (c p) -> b (ph pw) (p c)"``: ``pack`` is (4096, 14*14*3), the encoder's input.
No pan-and-scan exists in the library (HF's is an addition of transformers).

Findings against hf-*: JAX's antialiased bilinear kernel on floats vs PIL's on uint8 (rounded), and a
patch tensor instead of HF's (1, 3, 896, 896) image (``pack`` shapes differ by design; compare
``normalize`` after transposing, or the patches).
"""

from __future__ import annotations

import jax
import numpy as np
from jax import numpy as jnp

from parity.families import gemma3
from parity.trace import TraceBuilder

COMMIT = "google-deepmind/gemma@7691fd4 gemma/gm/vision/_preprocess.py"


def stages(rgb: np.ndarray, preset, tb: TraceBuilder) -> None:

    size, patch, mean_std = preset["image_size"], preset["patch_size"], preset["reference_mean_std"]
    h, w = rgb.shape[:2]
    tb.add("plan", gemma3.plan(h, w, size, pan_and_scan=False, mm_tokens_per_image=preset["mm_tokens_per_image"]).to_dict(),
           "plan",
           note="the gemma library has no pan-and-scan")
    resized = jax.image.resize(jnp.asarray(rgb), shape=(size, size, 3), method="bilinear", antialias=True)
    tb.add("resize", np.asarray(resized), "HWC float32", note="jax.image.resize bilinear+antialias, unrounded")
    x = resized
    x -= jnp.asarray((mean_std,) * 3)
    x /= jnp.asarray((mean_std,) * 3)
    x = jnp.clip(x, -1, 1)
    tb.add("normalize", np.asarray(x), "H,W,C")
    patches = jax.lax.conv_general_dilated_patches(
        lhs=x[None], filter_shape=(patch, patch), window_strides=(patch, patch), padding="VALID",
        rhs_dilation=[1, 1], dimension_numbers=("NHWC", "OIHW", "NHWC"), precision=jax.lax.Precision.HIGH)
    # "b ph pw (c p) -> b (ph pw) (p c)": channel-major patch values become pixel-major
    p = np.asarray(patches)
    p = p.reshape(p.shape[0], p.shape[1] * p.shape[2], 3, patch * patch).transpose(0, 1, 3, 2)
    tb.add("pack", np.ascontiguousarray(p.reshape(p.shape[0], p.shape[1], -1)[0]), "patches,P*P*C (row-major)")
    tb.add("num_crops", np.array([0], dtype=np.int64), "images")
