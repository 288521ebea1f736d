"""Step3-VL geometry (StepFun): a 728x728 global view plus sliding windows (504 pixels, or the short side of an
elongated image), each window resized to 504.

As transformers 5.23.0 ``models/step3p7/image_processing_step3p7.py`` (``Step3p7ImageProcessor._plan_patches`` and
``_get_image_patches``; StepFun's algorithm of Step3-VL-10B's ``processing_step3.py``, which llama.cpp's converter
maps Step3-VL-10B and Step-3.7-Flash alike onto) computes it:

1. Tiny-and-thin images (short side < 32 and aspect > 4) are padded to a square, image top-left, zeros elsewhere.
2. Longer than ``max_image_size`` (3024): both sides scaled by 3024 / long side, truncated.
3. Window: for a long side <= 728, the short side when long/short > 1.5, else no windows; above 728, 504, or
   min(short side, 504) when long/short > 4.
4. Each side >= the window snapped to a multiple of it: floor(side / window) windows, one more when the remainder
   exceeds 0.2 of a window; a shorter side is kept.
5. Global view: the image resized to step 2's size, then to 728x728 (bilinear, antialiased). Windows: the image
   resized to step 4's size, cut into windows row-major (``divide_to_patches``: edge windows are partial when a side
   is shorter than the window), each resized to 504x504; all normalized with CLIP mean/std.

Runtimes: llama.cpp mtmd 0c1e570 (``mtmd_image_preprocessor_step3vl``) resizes the prepared image once to 728 and
the windows to 504 with its own normalize-then-bilinear float32 resize (no antialias), fills a window past the image
with black instead of stretching a partial one, and moves the last window back to end at the edge.

Tokens (transformers ``Step3p7Processor.replace_image_token``; llama.cpp ``init_vision`` PROJECTOR_TYPE_STEP3VL and
``clip_n_output_tokens``): per window ``<patch_start>`` + (504/56)^2 = 81 + ``<patch_end>``, a ``<patch_newline>``
after each row but the last, then ``<im_start>`` + (728/56)^2 = 169 + ``<im_end>``.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.families.base import Plan, Tokens, summary_fields

STRIDE = 56  # ViT patch 14 x two stride-2 downsamplers


def tokens(grid, overview: int = 728, crop: int = 504) -> Tokens:
    rows, cols = grid
    per_window, glob = (crop // STRIDE) ** 2, (overview // STRIDE) ** 2
    n = rows * cols * per_window + glob
    delimiters = rows * cols * 2 + max(rows - 1, 0) + 2
    return Tokens(n + delimiters, n)


@dataclass(frozen=True)
class Step3VlPlan(Plan):
    prepared: tuple[int, int]  # [h, w] after the square pad and the longest-edge downscale
    window: int  # side of a sliding window (0: no windows)
    overview_size: int  # side of the global view


def make_plan(image_hw, prepared, refined, grid, window: int, overview: int, tok: Tokens) -> Step3VlPlan:
    """``resized``: the image the windows are cut from ([0, 0] without windows: then the prepared size)."""
    rows, cols = grid if window else (1, 1)
    resized = tuple(refined) if window else tuple(prepared)
    n = rows * cols + 1 if window else 1
    return Step3VlPlan(**summary_fields(image_hw, resized, None, (0, 0), (rows, cols), n, tok),
                       prepared=tuple(int(s) for s in prepared), window=int(window), overview_size=int(overview))
