"""Every projector type of llama.cpp mtmd 0c1e570, and what this port makes of it.

Source: ggml-org/llama.cpp at commit 0c1e570 (as vendored by llama-cpp-python 0.3.36):
``tools/mtmd/clip-impl.h`` ``PROJECTOR_TYPE_NAMES`` (the strings a GGUF's ``clip.projector_type`` /
``clip.vision.projector_type`` / ``clip.audio.projector_type`` may hold; anything else is refused by
``clip_projector_type_from_string``), ``mtmd.cpp`` ``init_vision`` / ``init_audio`` (which preprocessor a projector
gets, or that it is audio-only) and ``clip.cpp`` ``load_hparams``.

``recognise(name)`` says, for one projector name: whether llama.cpp knows it, its modality, the mtmd preprocessor,
the preset family its geometry belongs to (``hparams.FAMILY_OF_PROJECTOR``: the one mapping) and whether the
``llamacpp`` impl runs it (``hparams.SUPPORTED_PROJECTORS``) -- or why not (``NOT_PORTED``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from parity.impls.llamacpp import hparams as hk

#: clip-impl.h PROJECTOR_TYPE_NAMES, in the map's order
NAMES_0C1E570 = (
    "mlp", "ldp", "ldpv2", "resampler", "adapter", "qwen2vl_merger", "qwen2.5vl_merger", "qwen3vl_merger", "ling3vl",
    "step3vl", "gemma3", "gemma3nv", "gemma3na", "gemma4v", "gemma4a", "gemma4uv", "gemma4ua", "phi4", "idefics3",
    "pixtral", "ultravox", "internvl", "llama4", "qwen2a", "qwen3a", "glma", "qwen2.5o", "voxtral", "meralion",
    "musicflamingo", "lfm2", "kimivl", "paddleocr", "lightonocr", "cogvlm", "janus_pro", "dots_ocr", "dots3note_v",
    "dots3note_a", "deepseekocr", "deepseekocr2", "deepseek4v", "lfm2a", "glm4v", "glm5v", "youtuvl", "yasa2",
    "kimik25", "nemotron_v2_vl", "exaone4_5", "hunyuanvl", "minicpmv4_6", "granite_speech", "mimovl", "minimax_m3",
    "granite4_vision", "mimo_audio", "parakeet", "qwen3tts_spkenc", "qwen3tts_gen", "pockettts_spkenc",
    "pockettts_gen", "muse-glimmer",
)

#: projectors ``init_vision`` does not take: audio encoders (``init_audio``) and speech generators
AUDIO = ("gemma3na", "gemma4a", "gemma4ua", "ultravox", "qwen2a", "qwen3a", "glma", "voxtral", "meralion",
         "musicflamingo", "dots3note_a", "lfm2a", "granite_speech", "mimo_audio", "parakeet", "qwen3tts_spkenc",
         "qwen3tts_gen", "pockettts_spkenc", "pockettts_gen")

#: vision projector -> mtmd preprocessor class (after mtmd_image_preprocessor_<name>), per init_vision
PREPROCESSOR_OF = {
    **{p: "fixed_size or llava_uhd (with pinpoints)" for p in ("mlp", "ldp", "ldpv2", "cogvlm", "janus_pro",
                                                               "adapter")},
    "resampler": "llava_uhd", "minicpmv4_6": "minicpmv",
    **{p: "dyn_size" for p in ("qwen2vl_merger", "qwen2.5vl_merger", "qwen3vl_merger", "ling3vl", "mimovl",
                               "minimax_m3", "pixtral", "phi4", "kimivl", "kimik25", "dots_ocr", "dots3note_v",
                               "glm4v", "paddleocr", "gemma4v", "gemma4uv", "hunyuanvl", "exaone4_5")},
    "qwen2.5o": "dyn_size",
    "muse-glimmer": "muse_glimmer", "youtuvl": "youtuvl",
    **{p: "fixed_size" for p in ("yasa2", "gemma3", "gemma3nv", "nemotron_v2_vl")},
    "idefics3": "idefics3", "llama4": "llava_uhd", "step3vl": "step3vl", "internvl": "internvl",
    "lightonocr": "longest_edge", "deepseek4v": "deepseek4v", "lfm2": "lfm2", "glm5v": "glm5v",
    "deepseekocr": "deepseekocr", "deepseekocr2": "deepseekocr", "granite4_vision": "granite",
}

_NO_PRESET = "mtmd's {pre} (ported) would run it, but no preset or family here describes {model}'s geometry"

#: vision projectors the llamacpp impl does not run, and why
NOT_PORTED: dict[str, str] = {
    "ling3vl": _NO_PRESET.format(pre="dyn_size", model="Ling-3-VL"),
    "mimovl": _NO_PRESET.format(pre="dyn_size", model="MiMo-VL"),
    "minimax_m3": _NO_PRESET.format(pre="dyn_size", model="MiniMax-M3"),
    "kimik25": _NO_PRESET.format(pre="dyn_size", model="Kimi-K2.5 / GLM-5.2-V"),
    "dots_ocr": _NO_PRESET.format(pre="dyn_size", model="dots.ocr"),
    "dots3note_v": _NO_PRESET.format(pre="dyn_size", model="dots3-note"),
    "paddleocr": _NO_PRESET.format(pre="dyn_size", model="PaddleOCR-VL"),
    "exaone4_5": _NO_PRESET.format(pre="dyn_size", model="EXAONE 4.5"),
    "hunyuanvl": _NO_PRESET.format(pre="dyn_size", model="HunyuanVL") + " (and its XD-RoPE row tokens are not counted)",
    "gemma4uv": _NO_PRESET.format(pre="dyn_size", model="Gemma 4 unified (patch * n_merge folded into the patch)"),
    "gemma3nv": _NO_PRESET.format(pre="fixed_size", model="Gemma 3n (MobileNetV5)"),
    "yasa2": _NO_PRESET.format(pre="fixed_size", model="Reka Yasa-2 (stretched, PAD_NONE)"),
    "minicpmv4_6": "the minicpmv preprocessor (MiniCPM-V 4.6 slicing with n_merge 2 or 4) is not ported",
    "lightonocr": "the longest_edge preprocessor (LightOnOCR) is not ported",
    "deepseek4v": "the deepseek4v preprocessor (DeepSeek-V4 token-budget resize solver, lead pads) is not ported",
    "glm5v": "the glm5v preprocessor (GLM-5.3 ceil-aligned top-left canvas) is not ported",
    "youtuvl": "the youtuvl preprocessor (Youtu-VL patch-budget search) is not ported",
    "granite4_vision": "the granite preprocessor (Granite 4 Vision anyres stacked into one image) is not ported",
    "muse-glimmer": "the muse_glimmer preprocessor (patch grid under a token cap, stretch) is not ported",
}


@dataclass(frozen=True)
class Recognition:
    name: str
    known: bool  # in llama.cpp 0c1e570's PROJECTOR_TYPE_NAMES
    modality: str  # "vision", "audio", "vision+audio" or "unknown"
    preprocessor: str | None  # mtmd's preprocessor class for a vision projector
    family: str | None  # the preset family of its geometry (hparams.FAMILY_OF_PROJECTOR)
    status: str  # "ported", "not ported", "audio" or "unknown"
    reason: str  # why it is not ported ("" when it is)

    def to_dict(self) -> dict:
        return asdict(self)


def recognise(name: str) -> Recognition:
    """What llama.cpp 0c1e570 and this port make of projector ``name``."""
    vision_name = "qwen2.5vl_merger" if name == "qwen2.5o" else name
    family = hk.FAMILY_OF_PROJECTOR.get(name)
    if name not in NAMES_0C1E570:
        return Recognition(name, False, "unknown", None, None, "unknown",
                           "not a projector type of llama.cpp 0c1e570 (clip_projector_type_from_string returns "
                           "PROJECTOR_TYPE_UNKNOWN: load_hparams refuses the file)")
    if name in AUDIO:
        return Recognition(name, True, "audio", None, None, "audio",
                           "audio projector: llama.cpp runs it through init_audio, no image preprocessing")
    modality = "vision+audio" if name == "qwen2.5o" else "vision"
    pre = PREPROCESSOR_OF.get(name)
    if vision_name in hk.SUPPORTED_PROJECTORS:
        return Recognition(name, True, modality, pre, family, "ported", "")
    return Recognition(name, True, modality, pre, family, "not ported",
                       NOT_PORTED.get(name, f"mtmd's {pre} for {name} is not ported"))
