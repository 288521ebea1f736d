"""llama.cpp's GLM-4.1V / GLM-OCR geometry (projector ``glm4v``) in the glm4v plan.

Source: ggml-org/llama.cpp at commit 0c1e570: ``mtmd.cpp`` ``init_vision`` sends PROJECTOR_TYPE_GLM4V to
``mtmd_image_preprocessor_dyn_size`` (``parity.impls.llamacpp.dyn_size``); ``clip.cpp`` ``load_hparams`` gives it
n_merge 2 (or ``clip.vision.spatial_merge_size``), bicubic, and Qwen's limits of 8..4096 tokens -- not the
checkpoint's budget -- with the default ``PAD_CEIL`` black pad; ``clip_n_output_tokens``: (w/2p)*(h/2p) between
``<|begin_of_image|>`` and ``<|end_of_image|>``.
"""

from __future__ import annotations

from parity.families import glm4v as geometry
from parity.families.base import Tokens
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed


def plan_glm4v(image_hw, out: Preprocessed, hp: ClipHparams) -> geometry.Glm4vPlan:
    step = out.steps[0].plan
    canvas = (int(step["target"][1]), int(step["target"][0]))
    if "inner" in step:
        resized = (int(step["inner"][1]), int(step["inner"][0]))
        offset = (int(step["offset"][1]), int(step["offset"][0]))
    else:
        resized, offset = canvas, (0, 0)
    n = (canvas[1] // (hp.patch_size * 2)) * (canvas[0] // (hp.patch_size * 2))  # clip_n_output_tokens
    return geometry.make_plan(image_hw, resized, hp.patch_size, Tokens(n + 2, n), canvas=canvas, pad_offset=offset)
