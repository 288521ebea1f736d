"""Kimi-VL (MoonViT: 14-px patches, a 2x2 merge kernel) geometry, as llama.cpp computes it.

Only llama.cpp preprocesses Kimi-VL among the pinned runtimes: transformers 5.23.0 has no Kimi-VL
processor (``kimi_k25`` is Kimi-K2.5's MoonViT3d), Ollama f63eea3 has no kimi model, and the authors'
``image_processing_kimi_vl.py`` (moonshotai/Kimi-VL-A3B-Instruct remote code) is not reachable here.

llama.cpp mtmd 0c1e570 (``clip.cpp`` load_hparams PROJECTOR_TYPE_KIMIVL, ``mtmd_image_preprocessor_dyn_size``):
1. align = patch_size * n_merge (14 * 2 = 28); ``calc_size_preserved_ratio`` with 8..1024 merged tokens
   (``set_limit_image_tokens(8, 1024)``): each side rounded to the alignment, then scaled down (floor) or up
   (ceil) by sqrt of the pixel ratio when over / under the limits (float32, see ``parity.impls.llamacpp.dyn_size``);
2. ``img_tool::resize`` bicubic into that target keeping the aspect ratio, the rest padded black (PAD_CEIL).
Tokens: ``clip_n_output_tokens`` KIMIVL = ceil(w / 28) * ceil(h / 28) merged patches, between
``<|media_start|>`` and ``<|media_end|>`` (mtmd.cpp ``init_vision``).
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields


def merged_grid(canvas_hw, patch: int, merge: int) -> tuple[int, int]:
    """[rows, cols] of merged patches: ``CLIP_ALIGN(side, patch * merge) / (patch * merge)``."""
    step = patch * merge
    return (-(-canvas_hw[0] // step), -(-canvas_hw[1] // step))


def tokens_llamacpp(grid) -> Tokens:
    n = grid[0] * grid[1]
    return Tokens(n + 2, n)


@dataclass(frozen=True)
class KimiVLPlan(Plan):
    merged_grid: tuple[int, int]  # [rows, cols] of 2x2-merged patches: one LLM token each


def make_plan(image_hw, resized, canvas, pad_offset, grid, tokens: Tokens) -> KimiVLPlan:
    return KimiVLPlan(**summary_fields(image_hw, resized, canvas, pad_offset, (1, 1), 1, tokens),
                      merged_grid=tuple(grid))
