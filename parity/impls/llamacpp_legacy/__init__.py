"""``llamacpp-legacy``: llama.cpp's llava-cli era preprocessing (examples/llava/clip.cpp) at commit
c392e50, configured from the ``clip.*`` metadata of an mmproj GGUF.

Sources: ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b (2025-02-20),
``examples/llava/clip.cpp`` (``clip_model_load`` keys, ``clip_image_preprocess``, resizers, slicing,
``clip_image_batch_encode``'s ``inp_raw`` fill) and ``examples/llava/llava.cpp``
(``encode_image_with_clip``: one encode per slice; MiniCPM-V slices go through ``reshape_by_patch``).
Images are decoded by stb_image v2.30 with 3 channels forced (``clip_image_load_from_file``), the same
stb as the mtmd era, so ``parity.decode.stb`` applies.

Preprocessors, one module each: ``fixed`` (LLaVA-1.5, MobileVLM: top-left pad-to-square + rounding
bilinear), ``anyres`` (LLaVA-1.6: best pinpoint, resize_and_pad, overview first), ``uhd`` (MiniCPM-V
slicing, overview first), ``qwen2vl`` (bicubic to multiples of 28), ``glm`` (GLM-Edge square bicubic).
Which one runs is decided by ``config`` as clip_image_preprocess decides it (LLaVA's per image).

Stages: ``decode``, ``plan``, then in the C++ order ``pad`` / ``resize`` (fixed pads first),
``tiles`` (uint8 slices, slicing preprocessors), ``normalize`` (the clip_image_f32 buffers, HWC float32)
and ``pack`` (``inp_raw``: each slice CHW planar as clip_image_batch_encode fills it, slices in order).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from parity.decode import Decoded
from parity.errors import ParityError
from parity.impls.base import Impl
from parity.impls.llamacpp_legacy.anyres import stages_anyres
from parity.impls.llamacpp_legacy.config import LegacyConfig, config_from_gguf, llava_branch
from parity.impls.llamacpp_legacy.fixed import stages_fixed
from parity.impls.llamacpp_legacy.glm import stages_glm
from parity.impls.llamacpp_legacy.qwen2vl import stages_qwen2vl
from parity.impls.llamacpp_legacy.uhd import stages_uhd
from parity.presets import Preset
from parity.trace import TraceBuilder

COMMIT = "c392e50"

#: preprocessor / LLaVA branch -> stage recipe fn(rgb, cfg, tb)
RECIPES: dict[str, Callable[[np.ndarray, LegacyConfig, TraceBuilder], None]] = {
    "pad_to_square": stages_fixed,
    "fixed": stages_fixed,
    "anyres": stages_anyres,
    "uhd": stages_uhd,
    "qwen2vl": stages_qwen2vl,
    "glm": stages_glm,
}


class LlamaCppLegacyImpl(Impl):
    name = "llamacpp-legacy"
    default_decoder = "stb"
    version = f"llama.cpp {COMMIT} (examples/llava/clip.cpp)"
    description = ("llama.cpp llava-cli era preprocessing (examples/llava/clip.cpp, llava.cpp) at commit "
                   f"{COMMIT}, configured from the mmproj's clip.* metadata; numpy port, stb decode")

    def supports(self, preset: Preset) -> str | None:
        values = preset.clip_metadata()
        if values is None:
            return "preset has no gguf overlay (clip.* metadata of its mmproj)"
        try:
            config_from_gguf(values)
        except ParityError as e:
            return str(e)
        return None

    def config(self, preset: Preset) -> LegacyConfig:
        values = preset.clip_metadata()
        if values is None:
            raise ParityError(f"{self.name} cannot run {preset.name}: preset has no gguf overlay")
        return config_from_gguf(values)

    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        cfg = self.config(preset)
        h, w = decoded.rgb.shape[:2]
        recipe = llava_branch(cfg, w, h) if cfg.preprocessor == "llava" else cfg.preprocessor
        RECIPES[recipe](decoded.rgb, cfg, rec)


__all__ = ["LlamaCppLegacyImpl", "RECIPES", "COMMIT"]
