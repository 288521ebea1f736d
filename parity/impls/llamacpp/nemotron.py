"""llama.cpp's Nemotron Nano VL geometry (projector ``nemotron_v2_vl``) in the nemotron-vl plan.

Source: ggml-org/llama.cpp at commit 0c1e570: ``mtmd.cpp`` ``init_vision`` sends PROJECTOR_TYPE_NEMOTRON_V2_VL to
``mtmd_image_preprocessor_fixed_size`` -- no tiling, one image_size x image_size image, bicubic with the default
``PAD_CEIL`` black pad (``parity.impls.llamacpp.fixed_size``); ``clip.cpp`` ``load_hparams`` reads n_merge from
``clip.vision.projector.scale_factor``; ``clip_n_output_tokens``: (size / patch)^2 / n_merge^2, with no image
delimiters of its own.
"""

from __future__ import annotations

from parity.families import nemotron_vl as geometry
from parity.families.base import Tokens
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed


def plan_nemotron(image_hw, out: Preprocessed, hp: ClipHparams) -> geometry.NemotronVlPlan:
    step = out.steps[0].plan
    canvas = (int(step["target"][1]), int(step["target"][0]))
    resized = (int(step["inner"][1]), int(step["inner"][0])) if "inner" in step else canvas
    offset = (int(step["offset"][1]), int(step["offset"][0])) if "inner" in step else (0, 0)
    side = hp.image_size // hp.patch_size
    n = side * side // (hp.n_merge * hp.n_merge)
    return geometry.make_plan(image_hw, "fixed", resized, (1, 1), (side, side), False, Tokens(n, n), canvas=canvas,
                              pad_offset=offset)
