"""Kimi-VL in llama.cpp mtmd 0c1e570: the ``dyn_size`` preprocessor (``parity.impls.llamacpp.dyn_size``) with
the KIMIVL hparams of clip.cpp ``load_hparams`` (bicubic, n_merge = ``clip.vision.projector.scale_factor``,
8..1024 merged tokens), and its geometry in the ``kimi-vl`` family plan (``parity.families.kimi_vl``)."""

from __future__ import annotations

from parity.families import kimi_vl
from parity.families.base import Plan
from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.resize import Preprocessed


def plan_kimivl(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    step = out.steps[0].plan
    canvas = (int(step["target"][1]), int(step["target"][0]))
    if "inner" in step:  # padded: the aspect-kept image and its offset on the canvas ([w, h] -> [h, w])
        resized, offset = (int(step["inner"][1]), int(step["inner"][0])), (int(step["offset"][1]), int(step["offset"][0]))
    else:
        resized, offset = canvas, (0, 0)
    grid = kimi_vl.merged_grid(canvas, hp.patch_size, hp.n_merge)
    return kimi_vl.make_plan(image_hw, resized, canvas, offset, grid, kimi_vl.tokens_llamacpp(grid))
