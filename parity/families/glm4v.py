"""GLM-4.1V / GLM-OCR geometry (zai-org): Qwen2-VL-style smart resize to multiples of patch*merge (28), with
GLM's own budget rule, then flat 14x14 patches repeated over 2 frames, 2x2 merge-block order.

As transformers 5.23.0 ``models/glm4v/image_processing{,_pil}_glm4v.py`` ``smart_resize`` computes it
(``Glm46VImageProcessor``, GLM-OCR's, is the same code):

1. The image counts as ``num_frames`` = temporal_patch_size (2) frames.
2. A side below the factor: both sides scale by max(factor/h, factor/w), truncated with ``int``.
3. An aspect ratio above 200 is refused.
4. Each side rounded to the factor (Python ``round``: half to even).
5. The budget applies to t*h*w (t = 2): above max_pixels (size.longest_edge) both sides shrink by
   beta = sqrt(2*h*w / max_pixels) with floor (at least one factor); below min_pixels (size.shortest_edge)
   they grow by beta = sqrt(min_pixels / (2*h*w)) with ceil. So one image gets half the pixels the
   config's numbers say: 9,633,792 allows 4,816,896 pixels, 6,144 tokens.
6. Patches as Qwen2-VL (``parity.families.qwen2_vl``): (t=1, h/14, w/14), merge blocks contiguous, each
   patch repeated twice (C*T*P*P).

Runtimes: llama.cpp mtmd 0c1e570 runs GLM's ``glm4v`` projector through ``dyn_size`` (its own Qwen budget of
8..4096 tokens, float32 and ``std::round``, an aspect-preserving pad); Ollama f63eea3 (``glmocr``) has a
float64 ``SmartResize`` that scales up small images with ``ceil`` (not ``int``) and skips the aspect check,
and resizes with x/image ``CatmullRom``.

Tokens (transformers ``Glm4vProcessor.replace_image_token`` inside the chat template's ``<|begin_of_image|>``
... ``<|end_of_image|>``; llama.cpp ``init_vision`` PROJECTOR_TYPE_GLM4V, ``clip_n_output_tokens``:
(w/2p)*(h/2p); Ollama ``glmocr`` ``PostTokenize``): t*h*w/merge^2 embeddings between two delimiters.
"""

from __future__ import annotations

from dataclasses import dataclass

from parity.errors import ParityError
from parity.families.base import Plan, Tokens, summary_fields
from parity.families.qwen2_vl import fit_pixel_budget


def smart_resize_hf(height: int, width: int, factor: int, min_pixels: int, max_pixels: int,
                    temporal_factor: int = 2) -> tuple[int, int]:
    """(h, w) per steps 1-5, transformers' arithmetic."""
    num_frames = temporal_factor
    if height < factor or width < factor:
        scale = max(factor / height, factor / width)
        height, width = int(height * scale), int(width * scale)
    if max(height, width) / min(height, width) > 200:
        raise ParityError(f"aspect ratio {max(height, width) / min(height, width):g} of a {height}x{width} image is "
                          "over GLM's limit of 200 (smart_resize refuses it)")
    # t_bar = round(num_frames / temporal_factor) * temporal_factor = num_frames: the budget counts both frames
    return fit_pixel_budget(height, width, round(height / factor) * factor, round(width / factor) * factor, factor,
                            min_pixels, max_pixels, frames=num_frames)


def tokens(encoded_hw, patch: int, merge: int) -> Tokens:
    """(h/patch)*(w/patch)/merge^2 embeddings between begin/end of image (every runtime counts so; llama.cpp's
    (w/2p)*(h/2p) is the same for merge 2 and sides that are multiples of 2p)."""
    n = (encoded_hw[0] // (patch * merge)) * (encoded_hw[1] // (patch * merge))
    return Tokens(n + 2, n)


@dataclass(frozen=True)
class Glm4vPlan(Plan):
    image_grid_thw: tuple[int, int, int]  # (t, h/patch, w/patch) of the encoded image
    num_patches: int  # rows of the flat patch tensor


def make_plan(image_hw, resized, patch: int, tok: Tokens, canvas=None, pad_offset=(0, 0)) -> Glm4vPlan:
    encoded = tuple(canvas) if canvas is not None else tuple(resized)
    gh, gw = encoded[0] // patch, encoded[1] // patch
    return Glm4vPlan(**summary_fields(image_hw, resized, encoded, pad_offset, (1, 1), 1, tok),
                     image_grid_thw=(1, gh, gw), num_patches=gh * gw)
