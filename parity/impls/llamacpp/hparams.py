"""The preprocessing hparams llama.cpp derives from an mmproj's ``clip.*`` metadata, and its dispatch.

Port of two places of ggml-org/llama.cpp at commit 0c1e570 (tools/mtmd):
- ``clip.cpp`` ``clip_model_loader::load_hparams``: image size, patch size, mean/std, pinpoints and the
  per-projector defaults (resize filter, pad style, pad colour, n_merge, min/max pixels);
- ``mtmd.cpp`` ``mtmd_context::init_vision``: projector type -> preprocessor class and whether the
  overview image comes first (``ov_img_first``).

Defaults of ``clip_hparams`` (clip-model.h): filter bicubic, pad ``PAD_CEIL`` with black; for
llava-uhd the refined image bicubic + ``PAD_CEIL`` black and the overview bicubic + ``PAD_NONE``.
Known quirk kept: for ``mlp``/``ldp`` projectors the C++ sets the refined pad colour only when the file
has *no* pinpoints, so LLaVA-1.6's refined image is padded with black, not (122, 116, 104).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity.errors import ParityError

KEY_PROJ_TYPE = "clip.projector_type"
KEY_VISION_PROJ_TYPE = "clip.vision.projector_type"
KEY_IMAGE_SIZE = "clip.vision.image_size"
KEY_PATCH_SIZE = "clip.vision.patch_size"
KEY_IMAGE_MEAN = "clip.vision.image_mean"
KEY_IMAGE_STD = "clip.vision.image_std"
KEY_PINPOINTS = "clip.vision.image_grid_pinpoints"
KEY_MERGE_TYPE = "clip.vision.mm_patch_merge_type"
KEY_MINICPMV_VERSION = "clip.minicpmv_version"
KEY_SCALE_FACTOR = "clip.vision.projector.scale_factor"
KEY_SPATIAL_MERGE = "clip.vision.spatial_merge_size"
KEY_PREPROC_IMAGE_SIZE = "clip.vision.preproc_image_size"
KEY_MIN_PIXELS = "clip.vision.image_min_pixels"
KEY_MAX_PIXELS = "clip.vision.image_max_pixels"
KEY_MIN_TILES = "clip.vision.preproc_min_tiles"
KEY_MAX_TILES = "clip.vision.preproc_max_tiles"
KEY_HAS_VISION = "clip.has_vision_encoder"

LLAVA_PROJECTORS = ("mlp", "mlp_norm", "ldp", "ldpv2", "cogvlm", "janus_pro", "adapter")
DYN_SIZE_PROJECTORS = ("qwen2vl_merger", "qwen2.5vl_merger", "qwen3vl_merger", "pixtral", "phi4",
                       "gemma4v", "kimivl")
#: projector -> preprocessor for the projectors this port covers (mtmd.cpp init_vision)
SUPPORTED_PROJECTORS = LLAVA_PROJECTORS + DYN_SIZE_PROJECTORS + (
    "resampler", "gemma3", "idefics3", "internvl", "llama4",
    "lfm2", "glm4v", "deepseekocr", "deepseekocr2", "nemotron_v2_vl", "step3vl")

#: preprocessor names, after the C++ classes mtmd_image_preprocessor_<name>
PREPROCESSORS = ("fixed_size", "llava_uhd", "dyn_size", "idefics3", "internvl", "lfm2", "deepseekocr", "step3vl")


@dataclass(frozen=True)
class ClipHparams:
    """The preprocessing subset of ``clip_hparams`` plus the dispatch decided in mtmd.cpp."""

    projector: str
    preprocessor: str
    image_size: int
    patch_size: int
    image_mean: tuple[float, float, float]  # float32 values
    image_std: tuple[float, float, float]
    n_merge: int = 1
    image_min_pixels: int = -1
    image_max_pixels: int = -1
    image_longest_edge: int = 0
    res_candidates: tuple[tuple[int, int], ...] = ()  # (width, height), file order
    resize_algo: str = "bicubic"
    resize_pad: str = "ceil"
    pad_color: tuple[int, int, int] = (0, 0, 0)
    resize_algo_rf: str = "bicubic"
    resize_algo_ov: str = "bicubic"
    pad_rf: str = "ceil"
    pad_ov: str = "none"
    pad_color_rf: tuple[int, int, int] = (0, 0, 0)
    pad_color_ov: tuple[int, int, int] = (0, 0, 0)
    minicpmv_version: int = 0
    ov_img_first: bool = False
    preproc_min_tiles: int = 0  # deepseekocr: tile-grid bounds and tile side (clip_hparams preproc_*)
    preproc_max_tiles: int = 0
    preproc_tile_size: int = 0

    def to_dict(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["res_candidates"] = [list(c) for c in self.res_candidates]
        for k in ("image_mean", "image_std", "pad_color", "pad_color_rf", "pad_color_ov"):
            d[k] = list(d[k])
        return d


def _f32_triple(values: Any, key: str) -> tuple[float, float, float]:
    arr = np.asarray(values, dtype=np.float32)
    if arr.ndim != 1 or arr.size < 3:
        raise ParityError(f"{key} must hold at least 3 floats, got {values!r}")
    return tuple(float(v) for v in arr[:3])


def _int(values: Mapping[str, Any], key: str, default: int | None = None) -> int:
    if key not in values:
        if default is None:
            raise ParityError(f"mmproj metadata lacks required key {key}")
        return default
    v = values[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        raise ParityError(f"{key} must be an integer, got {v!r}")
    return int(v)


def projector_of(values: Mapping[str, Any]) -> str:
    proj = values.get(KEY_PROJ_TYPE) or values.get(KEY_VISION_PROJ_TYPE)
    if not proj:
        raise ParityError(f"mmproj metadata has neither {KEY_PROJ_TYPE} nor {KEY_VISION_PROJ_TYPE}")
    return "qwen2.5vl_merger" if proj == "qwen2.5o" else str(proj)


def internvl_candidates(image_size: int, min_tiles: int, max_tiles: int) -> tuple[tuple[int, int], ...]:
    """``set_internvl_dhr_res_candidates``: (a, b) tiles with min <= a*b-ish bounds, in loop order."""
    out = []
    if min_tiles < 1:
        return ()
    for a in range(min_tiles, max_tiles + 1):
        b_lo = max((min_tiles + a - 1) // a, min_tiles)
        b_hi = min(max_tiles // a, max_tiles)
        out.extend((a * image_size, b * image_size) for b in range(b_lo, b_hi + 1))
    return tuple(out)


def llava_uhd_candidates(image_size: int, max_per_side: int) -> tuple[tuple[int, int], ...]:
    """``set_llava_uhd_res_candidates``: every (x, y) grid up to max_per_side except 1x1."""
    return tuple((x * image_size, y * image_size)
                 for x in range(1, max_per_side + 1) for y in range(1, max_per_side + 1) if (x, y) != (1, 1))


def hparams_from_gguf(values: Mapping[str, Any]) -> ClipHparams:
    """What clip.cpp + mtmd.cpp make of the ``clip.*`` keys (values as the gguf reader returns them)."""
    proj = projector_of(values)
    if proj not in SUPPORTED_PROJECTORS:
        raise ParityError(f"projector type {proj!r} is not covered by the llamacpp port; covered: "
                          f"{', '.join(SUPPORTED_PROJECTORS)}")
    image_size = _int(values, KEY_IMAGE_SIZE)
    patch_size = _int(values, KEY_PATCH_SIZE)
    if image_size <= 0 or patch_size <= 0:
        raise ParityError(f"{KEY_IMAGE_SIZE}={image_size} and {KEY_PATCH_SIZE}={patch_size} must be positive")
    if KEY_IMAGE_MEAN not in values or KEY_IMAGE_STD not in values:
        raise ParityError(f"mmproj metadata lacks {KEY_IMAGE_MEAN} / {KEY_IMAGE_STD} (llama.cpp refuses it)")
    mean = _f32_triple(values[KEY_IMAGE_MEAN], KEY_IMAGE_MEAN)
    std = _f32_triple(values[KEY_IMAGE_STD], KEY_IMAGE_STD)
    pins = [int(v) for v in values.get(KEY_PINPOINTS, [])]
    if len(pins) % 2:
        raise ParityError(f"{KEY_PINPOINTS} must have an even number of elements, got {len(pins)}")
    candidates = tuple(zip(pins[0::2], pins[1::2]))
    minicpmv_version = _int(values, KEY_MINICPMV_VERSION, 0)

    h: dict[str, Any] = dict(projector=proj, image_size=image_size, patch_size=patch_size,
                             image_mean=mean, image_std=std, res_candidates=candidates,
                             minicpmv_version=minicpmv_version)

    def limit_tokens(n_min: int, n_max: int) -> None:  # clip_hparams::set_limit_image_tokens
        area = patch_size * patch_size * h["n_merge"] * h["n_merge"]
        h["image_min_pixels"], h["image_max_pixels"] = n_min * area, n_max * area

    if proj in LLAVA_PROJECTORS:
        if proj != "adapter":  # glm_edge sets only pad/algo, to the defaults
            h["pad_color"] = (122, 116, 104)
        if not candidates and proj != "adapter":
            # the branch the C++ comments as "llava-1.6 default params" runs only without pinpoints
            h["pad_color_rf"] = (122, 116, 104)
        h["preprocessor"] = "llava_uhd" if candidates else "fixed_size"
    elif proj == "resampler":
        if minicpmv_version not in (0, 2, 3, 4, 5, 6, 100045):  # mtmd.cpp init_vision throws
            raise ParityError(f"unsupported {KEY_MINICPMV_VERSION} {minicpmv_version} (llama.cpp accepts 2-6, 100045)")
        if minicpmv_version == 0:
            h["minicpmv_version"] = 2
        h["preprocessor"] = "llava_uhd"
        h["ov_img_first"] = True
    elif proj == "internvl":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        lo, hi = _int(values, KEY_MIN_TILES, 1), _int(values, KEY_MAX_TILES, 12)
        if lo > hi:
            raise ParityError(f"{KEY_MIN_TILES}={lo} exceeds {KEY_MAX_TILES}={hi}")
        h["res_candidates"] = candidates + internvl_candidates(image_size, lo, hi)
        h["preprocessor"] = "internvl"
    elif proj == "idefics3":
        h["resize_algo"] = "lanczos"
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        h["image_longest_edge"] = _int(values, KEY_PREPROC_IMAGE_SIZE, 0)
        h["preprocessor"] = "idefics3"
    elif proj == "gemma3":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 4)
        h["resize_algo"] = "bilinear"
        h["preprocessor"] = "fixed_size"
    elif proj == "llama4":
        h["resize_algo"] = "bilinear"  # unused: llava-uhd reads the _ov / _rf filters
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        h["res_candidates"] = candidates + llava_uhd_candidates(image_size, 3)
        h["preprocessor"] = "llava_uhd"
    elif proj in ("qwen2vl_merger", "qwen2.5vl_merger", "qwen3vl_merger"):
        h["n_merge"] = _int(values, KEY_SPATIAL_MERGE, 2)
        h["resize_algo"] = "bicubic"
        limit_tokens(8, 4096)
        h["preprocessor"] = "dyn_size"
    elif proj == "pixtral":
        h["n_merge"] = _int(values, KEY_SPATIAL_MERGE, 1)
        h["resize_algo"] = "bicubic"
        limit_tokens(8, 1024)
        h["preprocessor"] = "dyn_size"
    elif proj == "phi4":
        h["resize_algo"] = "bilinear"
        h["image_min_pixels"] = _int(values, KEY_MIN_PIXELS)
        h["image_max_pixels"] = _int(values, KEY_MAX_PIXELS)
        h["preprocessor"] = "dyn_size"
    elif proj == "kimivl":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        h["resize_algo"] = "bicubic"
        limit_tokens(8, 1024)
        h["preprocessor"] = "dyn_size"
    elif proj == "gemma4v":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 3)
        h["resize_algo"] = "bicubic"
        limit_tokens(70, 1120)
        h["preprocessor"] = "dyn_size"
    elif proj == "lfm2":
        h["resize_algo"] = h["resize_algo_rf"] = h["resize_algo_ov"] = "bilinear"
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        limit_tokens(64, 256)
        h["preprocessor"] = "lfm2"
    elif proj == "glm4v":
        h["n_merge"] = _int(values, KEY_SPATIAL_MERGE, 2)
        h["resize_algo"] = "bicubic"
        limit_tokens(8, 4096)
        h["preprocessor"] = "dyn_size"
    elif proj in ("deepseekocr", "deepseekocr2"):
        h["patch_size"], h["image_size"] = 16, 1024  # clip.cpp overrides the file's values
        h["resize_algo"] = "bicubic"
        h["pad_color"] = (127, 127, 127)
        lo = _int(values, KEY_MIN_TILES, 2)
        hi = _int(values, KEY_MAX_TILES, 9 if proj == "deepseekocr" else 6)
        if not 0 <= lo <= hi <= 256:  # GGML_ASSERT in load_hparams
            raise ParityError(f"{KEY_MIN_TILES}={lo} / {KEY_MAX_TILES}={hi}: llama.cpp asserts 0 <= min <= max <= 256")
        h["preproc_min_tiles"], h["preproc_max_tiles"] = lo, hi
        h["preproc_tile_size"] = 640 if proj == "deepseekocr" else 768
        h["preprocessor"] = "deepseekocr"
    elif proj == "step3vl":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 4)
        h["image_longest_edge"] = _int(values, KEY_PREPROC_IMAGE_SIZE, 0) or 3024
        h["preprocessor"] = "step3vl"
    elif proj == "nemotron_v2_vl":
        h["n_merge"] = _int(values, KEY_SCALE_FACTOR, 1)
        h["preprocessor"] = "fixed_size"
    if h["preprocessor"] == "internvl" and not h["res_candidates"]:
        raise ParityError("internvl projector without resolution candidates (preproc_min_tiles < 1)")
    if any(not (isinstance(v, float) and math.isfinite(v) and v != 0.0) for v in std):
        raise ParityError(f"{KEY_IMAGE_STD} must be finite and non-zero, got {list(std)}")
    return ClipHparams(**h)


#: projector type -> the preset family whose geometry llama.cpp's preprocessing of it produces
FAMILY_OF_PROJECTOR = {
    "mlp": "llava", "mlp_norm": "llava", "ldp": "llava", "ldpv2": "llava", "cogvlm": "llava",
    "janus_pro": "llava", "adapter": "llava",
    "resampler": "minicpmv",
    "qwen2vl_merger": "qwen2-vl", "qwen2.5vl_merger": "qwen2-vl", "qwen2.5o": "qwen2-vl",
    "qwen3vl_merger": "qwen3-vl",
    "gemma3": "gemma3", "gemma4v": "gemma4", "idefics3": "idefics3", "pixtral": "pixtral",
    "llama4": "llama4", "internvl": "internvl", "phi4": "phi4mm",
    "kimivl": "kimi-vl",
    "lfm2": "lfm2-vl",
    "glm4v": "glm4v",
    "deepseekocr": "deepseek-ocr", "deepseekocr2": "deepseek-ocr",
    "step3vl": "step3-vl",
    "nemotron_v2_vl": "nemotron-vl",
}


def family_of(hp: ClipHparams) -> str:
    """The preset family: LLaVA projectors with pinpoints are LLaVA-NeXT."""
    if hp.projector in LLAVA_PROJECTORS and hp.res_candidates:
        return "llava-next"
    return FAMILY_OF_PROJECTOR.get(hp.projector, hp.projector)
