"""``hf-processors-rs`` and ``hf-processors-rs-torchvision``: hf-processors-rs (PyPI, a Rust port of
transformers' CLIP/SigLIP/ViT/ConvNeXt/BLIP/Qwen2-VL image processors that claims bit-exact output),
executed as installed, one impl per backend it reproduces.

Naming mirrors ``hf-pil`` / ``hf-torchvision``: ``hf-processors-rs`` is its ``backend="pil"``
(transformers' ``XxxImageProcessorPil``, the twin of ``hf-pil``, the usual baseline) and
``hf-processors-rs-torchvision`` its ``backend="torchvision"`` (``XxxImageProcessor``, the twin of
``hf-torchvision``; the library's own default). Each is meant to be compared against its twin.

The library returns only its final tensors, so the stages are observed through its own API:

- ``decode``: a file is decoded by the library itself (``load_image_array``: "like ``PIL.Image.open``",
  no EXIF rotation; libjpeg-turbo linked in), then its ``do_convert_rgb``; both observed by running its
  CLIPImageProcessor with resize, crop, rescale and normalize off (the pixels come back as exact floats).
  Injected pixels (``--from-stage decode``) are handed over as a uint8 HWC array.
- ``resize`` / ``tiles``: the same processor run again with rescale and normalize off (and the center
  crop off for ``resize``): the uint8 stage comes back as exact floats, Qwen's through its patch layout,
  which is inverted here (``unpatchify``). Non-integral values would mean the observation is invalid:
  that raises.
- ``plan``: the family's plan dataclass filled with the geometry its outputs show (``image_grid_thw``, the
  resized shape); tokens by transformers' formulas on that geometry; the CLIP crop box by transformers'
  rule (the crop it really took is compared through ``tiles``).
- ``pack`` and ``image_grid_thw``: its real outputs.

Source read: hf_processors_rs 0.1.0 ``__init__.py`` (``from_dict``, ``Qwen2VLImageProcessor.__call__``,
``ImageProcessor.__call__``) and its METADATA.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from functools import cache
from importlib import metadata

import hf_processors_rs as hpr
import numpy as np

from parity.arrays import hwc
from parity.errors import BadImage, ParityError
from parity.families import llava as llava_geometry
from parity.families import qwen2_vl as qwen_geometry
from parity.impls.base import Impl
from parity.presets import Preset
from parity.trace import TraceBuilder

#: rescale and normalize off: uint8 stages come back as exact float values
_RAW = {"do_rescale": False, "do_normalize": False}
#: every step off: the decoded, RGB-converted pixels come back
_IDENTITY = {"do_resize": False, "do_center_crop": False, **_RAW}


def _version() -> str:
    return f"hf-processors-rs {metadata.version('hf-processors-rs')}"


@cache
def _processor(stem: str, config_json: str, backend: str):

    return hpr.AutoImageProcessor.from_dict(json.loads(config_json), backend=backend,
                                            processor_type=f"{stem}ImageProcessor")


def processor(preset: Preset, backend: str, **overrides):
    """hf-processors-rs's processor for ``preset`` (its ``[hf.config]``, the class named by ``[hf]
    processor``), with config ``overrides``; cached."""
    return _build(preset.hf_processor, {**preset.hf_config, **overrides}, backend)


def _build(stem: str, config: dict, backend: str):
    try:
        return _processor(stem, json.dumps(config, sort_keys=True), backend)
    except ValueError as e:  # the library's own refusal, e.g. "unsupported processor: Gemma3ImageProcessor"
        raise ParityError(f"{_version()}: {e}") from None


def _call(proc, src) -> dict:
    """Run ``proc`` on a path or a uint8 HWC array; -> {"pixel_values": ..., ["image_grid_thw": ...]}."""
    fmt = None if isinstance(src, str) else "channels_last"
    out = proc(src, input_data_format=fmt)
    return out if isinstance(out, dict) else {"pixel_values": out}


def exact_uint8(x: np.ndarray, what: str) -> np.ndarray:
    """Floats that must hold uint8 values exactly (a stage observed with rescale/normalize off)."""
    if not np.all((x == np.round(x)) & (x >= 0) & (x <= 255)):
        raise ParityError(f"hf-processors-rs: {what} observed with rescale/normalize off is not uint8-valued")
    return x.astype(np.uint8)


def unpatchify(patches: np.ndarray, grid_thw, channels: int, temporal: int, patch: int, merge: int) -> np.ndarray:
    """Inverse of transformers' Qwen2-VL patchify: (t*gh*gw, C*T*P*P) in merge-block order -> frame 0 as
    (C, gh*P, gw*P). patchify permutes (t, T, C, gh/m, m, P, gw/m, m, P) by (0, 3, 6, 4, 7, 2, 1, 5, 8)."""
    t, gh, gw = (int(v) for v in grid_thw)
    x = patches.reshape(t, gh // merge, gw // merge, merge, merge, channels, temporal, patch, patch)
    x = x.transpose(0, 6, 5, 1, 3, 7, 2, 4, 8)  # argsort of the patchify permutation
    return x.reshape(t * temporal, channels, gh * patch, gw * patch)[0]




def stages_qwen2_vl(preset: Preset, backend: str, src, image_size: list[int], rec: TraceBuilder) -> None:
    """Qwen2VLImageProcessor: smart_resize -> resize -> rescale/normalize -> patchify."""
    proc = processor(preset, backend)
    s = proc.settings
    out = _call(proc, src)
    grid = out["image_grid_thw"]
    p, m = int(s["patch_size"]), int(s["merge_size"])
    raw = _call(processor(preset, backend, **_RAW), src)["pixel_values"]
    resized = hwc(exact_uint8(unpatchify(raw, grid[0], 3, int(s["temporal_patch_size"]), p, m), "resize"))
    thw = tuple(int(v) for v in grid[0])
    plan = qwen_geometry.make_plan(tuple(image_size), resized.shape[:2], p, qwen_geometry.tokens_hf(thw, m))
    if plan.image_grid_thw != thw:
        raise ParityError(f"hf-processors-rs resized to {resized.shape[:2]} but returned image_grid_thw {list(thw)}")
    rec.add("plan", plan.to_dict(), "plan", note="from the image_grid_thw it returns")
    rec.add("resize", resized, "HWC", note="its output with rescale/normalize off, un-patchified")
    rec.add("pack", out["pixel_values"], "patches,C*T*P*P (merge-block order)")
    rec.add("image_grid_thw", np.asarray(grid, dtype=np.int64), "images,thw")


def stages_clip(preset: Preset, backend: str, src, image_size: list[int], rec: TraceBuilder) -> None:
    """CLIPImageProcessor: resize (shortest edge) -> center crop -> rescale/normalize."""
    out = _call(processor(preset, backend), src)["pixel_values"]
    resized = _call(processor(preset, backend, do_center_crop=False, **_RAW), src)["pixel_values"][0]
    cropped = _call(processor(preset, backend, **_RAW), src)["pixel_values"]
    size, crop = (int(resized.shape[1]), int(resized.shape[2])), int(cropped.shape[-1])
    tokens = llava_geometry.tokens_hf(crop, preset["patch_size"], preset["num_additional_image_tokens"],
                                      preset["vision_feature_select_strategy"])
    plan = llava_geometry.make_plan(tuple(image_size), tuple(image_size), size,
                                    llava_geometry.center_crop_box(*size, crop, crop), tokens)
    rec.add("plan", plan.to_dict(), "plan", note="resized: the shape of its output with the center crop off")
    rec.add("resize", hwc(exact_uint8(resized, "resize")), "HWC", note="its output with crop/rescale/normalize off")
    rec.add("tiles", exact_uint8(cropped, "center crop"), "tiles,C,H,W uint8",
            note="center crop: its output with rescale/normalize off")
    rec.add("pack", out, "batch,C,H,W")


#: preset family -> recorder(preset, backend, path or HWC uint8 array, decoded [h, w], rec) of the stages
#: after decode
RECIPES: dict[str, Callable[[Preset, str, object, list[int], TraceBuilder], None]] = {
    "qwen2-vl": stages_qwen2_vl,
    "qwen3-vl": stages_qwen2_vl,
    "llava": stages_clip,
}


class HfProcessorsRsImpl(Impl):
    default_decoder = "hf-processors-rs"  # its own decoder (Rust): not a parity.decode profile
    decodes_files = True

    def __init__(self, backend: str) -> None:
        if backend not in ("pil", "torchvision"):
            raise ValueError(f"backend must be 'pil' or 'torchvision', got {backend!r}")
        self.backend = backend
        self.name = "hf-processors-rs" if backend == "pil" else "hf-processors-rs-torchvision"
        self.version = f"{_version()} (backend={backend})"
        twin = "XxxImageProcessorPil" if backend == "pil" else "XxxImageProcessor"
        self.description = f"hf-processors-rs, the Rust port of transformers' image processors: its {twin} reproduction"

    def supports(self, preset: Preset) -> str | None:
        if not preset.hf_processor:
            return "preset has no transformers processor"
        try:
            processor(preset, self.backend)
        except ParityError as e:
            return str(e)
        if preset.family not in RECIPES:
            return f"no {self.name} stage recipe for family {preset.family!r}"
        return None

    def record_file(self, path: str, preset: Preset, rec: TraceBuilder) -> None:
        """The library decodes the file itself (its Rust decoder, no EXIF rotation)."""
        if not os.path.isfile(path):
            raise BadImage(f"no such image file: {path}")
        path = os.fspath(path)
        identity = _build("CLIP", {**_IDENTITY, "do_convert_rgb": preset.hf_config.get("do_convert_rgb", True)},
                          self.backend)
        try:
            decoded = hwc(exact_uint8(_call(identity, path)["pixel_values"][0], "decode"))
        except ValueError as e:  # the library's decoder refusing the file
            raise ParityError(f"hf-processors-rs cannot decode {os.path.basename(path)}: {e}") from None
        rec.add("decode", decoded, "HWC",
                note="its own decoder (no EXIF rotation) and do_convert_rgb, through an identity CLIPImageProcessor")
        RECIPES[preset.family](preset, self.backend, path, list(decoded.shape[:2]), rec)

    def record_stages(self, decoded, preset: Preset, rec: TraceBuilder) -> None:
        """The stages after ``decode``, the library fed the given pixels (uint8 HWC)."""
        rgb = np.ascontiguousarray(decoded.rgb, dtype=np.uint8)
        RECIPES[preset.family](preset, self.backend, rgb, list(rgb.shape[:2]), rec)
