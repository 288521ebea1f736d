"""Qwen2-VL at llama.cpp c392e50: one bicubic resize up to multiples of 2 * patch_size.

Source: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b, examples/llava/clip.cpp, the
``has_qwen2vl_merger`` branch of ``clip_image_preprocess``: ``n = ceil((float)n / (2 * patch)) * 2 * patch``
per side, clip.cpp's bicubic_resize, normalize. No min/max pixel limits exist at this commit (they came
with mtmd's smart resize), so any image size goes through, upscaled to the next multiple of 28.
``inp_raw`` is the image CHW planar (encoded without reshape_by_patch).
"""

from __future__ import annotations

import math

import numpy as np

from parity.families import qwen2_vl
from parity.impls.llamacpp_legacy.config import LegacyConfig
from parity.kernels.clip_legacy import (
    normalize_llamacpp_legacy,
    resize_bicubic_llamacpp_legacy,
    to_planar_llamacpp_legacy,
)
from parity.trace import TraceBuilder

F32 = np.float32


def plan_qwen2vl(width: int, height: int, cfg: LegacyConfig) -> qwen2_vl.QwenVLPlan:
    factor = cfg.patch_size * 2
    nx = int(math.ceil(F32(width) / F32(factor)) * factor)
    ny = int(math.ceil(F32(height) / F32(factor)) * factor)
    return qwen2_vl.make_plan((height, width), (ny, nx), cfg.patch_size,
                              qwen2_vl.tokens_llamacpp_legacy((ny, nx), cfg.patch_size))


def stages_qwen2vl(rgb: np.ndarray, cfg: LegacyConfig, tb: TraceBuilder) -> None:
    h, w = rgb.shape[:2]
    plan = plan_qwen2vl(w, h, cfg)
    how = "qwen2vl (clip.cpp c392e50): bicubic_resize to the next multiples of 2 * patch_size, no pixel limits"
    tb.add("plan", plan.to_dict(), "plan", note="; ".join((how, *cfg.notes)))
    ny, nx = plan.resized
    resized = tb.add("resize", resize_bicubic_llamacpp_legacy(rgb, nx, ny), "HWC")
    normalized = normalize_llamacpp_legacy(resized, cfg.image_mean, cfg.image_std)
    tb.add("normalize", normalized[None], "slices,H,W,C")
    tb.add("pack", to_planar_llamacpp_legacy(normalized)[None], "slices,C,H,W", note="inp_raw: one image, CHW planar")
