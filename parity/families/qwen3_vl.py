"""Qwen3-VL geometry: the Qwen2-VL algorithm (see ``qwen2_vl``) with 16-pixel patches (factor 32).

transformers 5.23.0 has no Qwen3-VL image processor of its own: the checkpoint's
preprocessor_config.json names ``Qwen2VLImageProcessorFast`` with ``patch_size`` 16, and
qwen-vl-utils 0.0.14 ``fetch_image(..., image_patch_size=16)`` uses factor 16 * 2 = 32 with its default
budget of 4..16384 tokens (4*32*32 .. 16384*32*32 pixels).
"""

from __future__ import annotations

from parity.families.qwen2_vl import (  # noqa: F401  (re-exported: the same rules)
    QwenVLPlan,
    check_aspect_ratio,
    plan,
    plan_from_resized,
    qwen_vl_utils_budget,
    smart_resize_hf,
    smart_resize_qwen_vl_utils,
)
