"""GLM-Edge at llama.cpp c392e50: bicubic resize to image_size x image_size (aspect not kept).

Source: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b, examples/llava/clip.cpp, the
``has_glm_projector`` branch of ``clip_image_preprocess``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from parity.impls.llamacpp_legacy.config import LegacyConfig
from parity.kernels.clip_legacy import (
    normalize_llamacpp_legacy,
    resize_bicubic_llamacpp_legacy,
    to_planar_llamacpp_legacy,
)
from parity.trace import TraceBuilder


@dataclass(frozen=True)
class GlmPlan:
    image_size: list  # [h, w] of the input
    resized: list  # [h, w]

    def to_dict(self) -> dict:
        return asdict(self)


def plan_glm(width: int, height: int, cfg: LegacyConfig) -> GlmPlan:
    return GlmPlan([height, width], [cfg.image_size, cfg.image_size])


def stages_glm(rgb: np.ndarray, cfg: LegacyConfig, tb: TraceBuilder) -> None:
    h, w = rgb.shape[:2]
    plan = plan_glm(w, h, cfg)
    how = "glm-edge (clip.cpp c392e50): bicubic_resize to image_size square, aspect not kept"
    tb.add("plan", plan.to_dict(), "plan", note="; ".join((how, *cfg.notes)))
    resized = tb.add("resize", resize_bicubic_llamacpp_legacy(rgb, cfg.image_size, cfg.image_size), "HWC")
    normalized = normalize_llamacpp_legacy(resized, cfg.image_mean, cfg.image_std)
    tb.add("normalize", normalized[None], "slices,H,W,C")
    tb.add("pack", to_planar_llamacpp_legacy(normalized)[None], "slices,C,H,W", note="inp_raw: one image, CHW planar")
