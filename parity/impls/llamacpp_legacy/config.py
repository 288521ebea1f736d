"""What llama.cpp c392e50 reads from an mmproj's ``clip.*`` metadata, and which preprocessor it runs.

Port of ggerganov/llama.cpp c392e5094deaf2d1a7c18683214f007fad3fe42b ``examples/llava/clip.cpp``:
``clip_model_load`` (the keys below, their defaults) and the dispatch at the top of
``clip_image_preprocess``, in its order:

1. ``clip.has_minicpmv_projector`` (with ``clip.minicpmv_version``, default 2, non-zero) -> MiniCPM-V
   slicing (``uhd``);
2. ``clip.has_qwen2vl_merger`` -> Qwen2-VL (``qwen2vl``);
3. ``clip.has_glm_projector`` -> GLM-Edge (``glm``);
4. otherwise LLaVA: ``clip.vision.mm_patch_merge_type`` == "spatial_unpad" turns pad-to-square off; a
   non-square image is then padded to a square (``fixed``) only when pad-to-square is on, else an mmproj
   with ``clip.vision.image_grid_pinpoints`` goes ``anyres`` and one without goes ``fixed`` unpadded.
   That choice depends on the image, see ``llava_branch``.

The ``has_*`` flags are what that era's converters wrote (convert_image_encoder_to_gguf.py,
minicpmv-convert-image-encoder-to-gguf.py, qwen2_vl_surgery.py, glmedge-convert-...). Metadata written
by later converters has only ``clip.projector_type``; when a flag is absent it is inferred from the
projector type those converters wrote beside it (resampler / qwen2vl_merger / adapter), and the plan
says so. Nothing else of the metadata changes preprocessing at this commit: MiniCPM-V's slicing uses the
hard-coded defaults of ``uhd_slice_image`` (9 slices, 448 px, patch 14) whatever the file says.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from parity.errors import ParityError

KEY_PROJ_TYPE = "clip.projector_type"
KEY_HAS_VISION = "clip.has_vision_encoder"
KEY_HAS_MINICPMV = "clip.has_minicpmv_projector"
KEY_MINICPMV_VERSION = "clip.minicpmv_version"
KEY_HAS_QWEN2VL = "clip.has_qwen2vl_merger"
KEY_HAS_GLM = "clip.has_glm_projector"
KEY_IMAGE_SIZE = "clip.vision.image_size"
KEY_PATCH_SIZE = "clip.vision.patch_size"
KEY_IMAGE_MEAN = "clip.vision.image_mean"
KEY_IMAGE_STD = "clip.vision.image_std"
KEY_PINPOINTS = "clip.vision.image_grid_pinpoints"
KEY_MERGE_TYPE = "clip.vision.mm_patch_merge_type"

#: projector types clip.cpp c392e50 knows (PROJECTOR_TYPE_NAMES; mlp_norm is detected from tensors)
KNOWN_PROJECTORS = ("mlp", "mlp_norm", "ldp", "ldpv2", "resampler", "adapter", "qwen2vl_merger")
#: flag -> the projector type the converters of that era wrote next to it
FLAG_PROJECTOR = {KEY_HAS_MINICPMV: "resampler", KEY_HAS_QWEN2VL: "qwen2vl_merger", KEY_HAS_GLM: "adapter"}
#: the capacity of clip_hparams.image_grid_pinpoints (int32_t[32]); later entries are not read
MAX_PINPOINT_VALUES = 32

PREPROCESSORS = ("llava", "uhd", "qwen2vl", "glm")


@dataclass(frozen=True)
class LegacyConfig:
    """The preprocessing subset of ``clip_ctx`` / ``clip_hparams`` at c392e50."""

    preprocessor: str  # one of PREPROCESSORS
    image_size: int
    patch_size: int
    image_mean: tuple[float, float, float]  # float32 values, as clip_ctx holds them
    image_std: tuple[float, float, float]
    pinpoints: tuple[tuple[int, int], ...] = ()  # (width, height) pairs, file order
    merge_type: str = "flat"
    minicpmv_version: int = 0
    notes: tuple[str, ...] = ()
    projector: str = "mlp"

    @property
    def pad_to_square(self) -> bool:
        return self.merge_type != "spatial_unpad"


def _f32_triple(values: Mapping[str, Any], key: str) -> tuple[float, float, float]:
    if key not in values:
        raise ParityError(f"mmproj metadata lacks {key} (clip_model_load fails without it)")
    arr = np.asarray(values[key], dtype=np.float32)
    if arr.ndim != 1 or arr.size < 3:
        raise ParityError(f"{key} must hold 3 floats, got {values[key]!r}")
    return tuple(float(v) for v in arr[:3])


def _uint(values: Mapping[str, Any], key: str) -> int:
    if key not in values:
        raise ParityError(f"mmproj metadata lacks {key} (clip_model_load fails without it)")
    v = values[key]
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v <= 0:
        raise ParityError(f"{key} must be a positive integer, got {v!r}")
    return int(v)


def _flag(values: Mapping[str, Any], key: str, notes: list[str]) -> bool:
    if key in values:
        return bool(values[key])
    proj = values.get(KEY_PROJ_TYPE)
    if proj == FLAG_PROJECTOR[key]:
        notes.append(f"{key} absent: taken as true from {KEY_PROJ_TYPE}={proj!r} (the converters of "
                     f"c392e50 wrote both)")
        return True
    return False


def pinpoints_of(values: Mapping[str, Any]) -> tuple[tuple[int, int], ...]:
    """``clip.vision.image_grid_pinpoints`` as clip_model_load keeps it: at most 32 ints, cut at the
    first 0, read as (width, height) pairs. A nested [[w, h], ...] list is accepted and flattened."""
    raw = values.get(KEY_PINPOINTS, [])
    flat = [int(v) for v in np.asarray(raw, dtype=np.int64).reshape(-1)] if len(raw) else []
    kept = []
    for v in flat[:MAX_PINPOINT_VALUES]:
        if v == 0:
            break
        kept.append(v)
    if len(kept) % 2:
        raise ParityError(f"{KEY_PINPOINTS} must hold (width, height) pairs, got {len(kept)} values: {raw!r}")
    if any(v < 0 for v in kept):
        raise ParityError(f"{KEY_PINPOINTS} must be positive, got {raw!r}")
    return tuple(zip(kept[0::2], kept[1::2]))


def config_from_gguf(values: Mapping[str, Any]) -> LegacyConfig:
    """clip_model_load + the dispatch of clip_image_preprocess (module docstring)."""
    notes: list[str] = []
    proj = values.get(KEY_PROJ_TYPE, "mlp")
    if proj not in KNOWN_PROJECTORS:
        raise ParityError(f"{KEY_PROJ_TYPE}={proj!r} is unknown to llama.cpp c392e50 (knows: "
                          f"{', '.join(KNOWN_PROJECTORS)})")
    if KEY_HAS_VISION in values and not values[KEY_HAS_VISION]:
        raise ParityError(f"{KEY_HAS_VISION} is false: c392e50 refuses to preprocess without a vision encoder")
    image_size = _uint(values, KEY_IMAGE_SIZE)
    patch_size = _uint(values, KEY_PATCH_SIZE)
    mean = _f32_triple(values, KEY_IMAGE_MEAN)
    std = _f32_triple(values, KEY_IMAGE_STD)
    pinpoints = pinpoints_of(values)
    merge_type = str(values.get(KEY_MERGE_TYPE, "flat"))
    version = int(values.get(KEY_MINICPMV_VERSION, 2))
    if _flag(values, KEY_HAS_MINICPMV, notes) and version != 0:
        if version not in (2, 3, 4):  # clip.cpp builds its pos_embed / n_patches only for these
            raise ParityError(f"{KEY_MINICPMV_VERSION}={version}: llama.cpp c392e50 knows MiniCPM-V versions 2-4 "
                              "only (its graph leaves pos_embed unset for others)")
        preprocessor = "uhd"
        notes.append("MiniCPM-V slicing uses uhd_slice_image's fixed defaults: max 9 slices, "
                     "scale_resolution 448, patch 14 (the file's image_size is not read)")
    elif _flag(values, KEY_HAS_QWEN2VL, notes):
        preprocessor = "qwen2vl"
    elif _flag(values, KEY_HAS_GLM, notes):
        preprocessor = "glm"
    else:
        preprocessor = "llava"
        if KEY_MERGE_TYPE not in values:
            notes.append(f"{KEY_MERGE_TYPE} absent: 'flat' (pad-to-square on)")
        if merge_type == "spatial_unpad" and not pinpoints:
            notes.append(f"spatial_unpad without {KEY_PINPOINTS}: non-square images are resized into a "
                         f"fixed {image_size}-px buffer without padding (its rows keep the resized width)")
    return LegacyConfig(preprocessor, image_size, patch_size, mean, std, pinpoints, merge_type,
                        version if preprocessor == "uhd" else 0, tuple(notes), proj)


def llava_branch(cfg: LegacyConfig, width: int, height: int) -> str:
    """The LLaVA branch clip_image_preprocess takes for this image: ``pad_to_square`` (then fixed),
    ``anyres`` or ``fixed`` (no pad). A square image never pads, so with pinpoints a square image goes
    ``anyres`` even when the merge type is flat."""
    if cfg.pad_to_square and width != height:
        return "pad_to_square"
    return "anyres" if cfg.pinpoints else "fixed"
