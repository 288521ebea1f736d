"""transformers.js observations (``driver.js``) -> stage records, per family, under the names, layouts and
plan keys of the ``hf-*`` recipe of the same family (``parity/impls/hf/<family>.py``).

``arrays``: ``decode`` (after ``RawImage.rgb()``), what the observers saw (``resize``, ``center_crop`` as
HWC uint8; ``preprocessed`` = ``ImageProcessor.preprocess``'s ``pixel_values``, C,H,W float32) and the
processor's outputs as ``out.<key>``. ``info``: numbers the observers saw and the non-tensor outputs.

Where transformers.js's pipeline has a stage in another place than transformers', the stage keeps its
own layout label (so it is reported as recorded at another point, not as a kernel difference).

Plans are the family's plan dataclass (``parity.families``) filled with the runtime's own numbers: sizes
its methods returned, grids from its outputs. Token counts: transformers.js's processors
(``processing_{qwen2_vl,idefics3,gemma3}.js``) expand image tokens with transformers' formulas, so the
family's ``tokens*`` functions are applied to the runtime's own grid.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from parity.errors import ParityError
from parity.families import gemma3 as gemma3_geometry
from parity.families import gemma4 as gemma4_geometry
from parity.families import glm4v as glm4v_geometry
from parity.families import idefics3 as idefics3_geometry
from parity.families import lfm2_vl as lfm2_geometry
from parity.families import llava as llava_geometry
from parity.families import qwen2_vl as qwen_geometry
from parity.presets import Preset
from parity.trace import TraceBuilder


def _size(arrays: dict, name: str) -> tuple[int, int]:
    return int(arrays[name].shape[0]), int(arrays[name].shape[1])


def _chw(hwc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.moveaxis(hwc, -1, 0))


def _qwen_pipeline_stages(arrays: dict, plan: dict, rec: TraceBuilder) -> None:
    """The stages of Qwen2VLImageProcessor's pipeline (and its subclasses'), after the family's plan."""
    rec.add("plan", plan, "plan", note="resized: its get_resize_output_image_size (smart_resize)")
    if "resize" in arrays:
        rec.add("resize", arrays["resize"], "HWC", note="RawImage.resize: sharp affine, no antialias")
    rec.add("normalize", arrays["preprocessed"], "C,H,W", note="Float32Array: rescale then (x - mean) / std in double")
    rec.add("pack", arrays["out.pixel_values"], "patches,C*T*P*P (merge-block order)")
    rec.add("image_grid_thw", arrays["out.image_grid_thw"], "images,thw")


def qwen2_vl(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Qwen2VLImageProcessor: preprocess (smart_resize with Math.round, sharp resize, rescale,
    normalize) -> tile over temporal_patch_size -> patch permute (same order as transformers)."""
    cfg = preset.hf_config
    grid = tuple(int(v) for v in arrays["out.image_grid_thw"][0])
    resized = tuple(info.get("resized", _size(arrays, "decode")))
    plan = qwen_geometry.make_plan(_size(arrays, "decode"), resized, int(cfg["patch_size"]),
                                   qwen_geometry.tokens_hf(grid, int(cfg["merge_size"])))
    if plan.image_grid_thw != grid:
        raise ParityError(f"transformers.js resized to {resized} but returned image_grid_thw {list(grid)}")
    _qwen_pipeline_stages(arrays, plan.to_dict(), rec)


def glm4v(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Glm46VImageProcessor (``models/glm46v``): Qwen2VLImageProcessor's pipeline with smart_resize given the
    temporal factor; the GLM-4V family plan."""
    cfg = preset.hf_config
    patch, merge = int(cfg["patch_size"]), int(cfg["merge_size"])
    grid = tuple(int(v) for v in arrays["out.image_grid_thw"][0])
    resized = tuple(info.get("resized", _size(arrays, "decode")))
    plan = glm4v_geometry.make_plan(_size(arrays, "decode"), resized, patch,
                                    glm4v_geometry.tokens(resized, patch, merge))
    if plan.image_grid_thw[1:] != grid[1:]:
        raise ParityError(f"transformers.js resized to {resized} but returned image_grid_thw {list(grid)}")
    _qwen_pipeline_stages(arrays, plan.to_dict(), rec)


def idefics3(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Idefics3ImageProcessor: preprocess (longest-edge resize with sharp lanczos3, rescale, normalize)
    -> on the normalized floats: interpolate_4d to whole tiles (ONNX Resize, linear) -> split (crops,
    then the global image, interpolate_4d to one tile)."""
    tile = int(preset.hf_config["max_image_size"]["longest_edge"])
    frames = arrays["out.pixel_values"][0]
    seq_len = idefics3_geometry.image_seq_len(tile, preset["patch_size"], preset["scale_factor"])
    plan = idefics3_geometry.make_plan(_size(arrays, "decode"), _size(arrays, "resize"),
                                       tuple(info.get("canvas", (tile, tile))), tuple(info.get("grid", (0, 0))), seq_len)
    if plan.num_images != frames.shape[0]:
        raise ParityError(f"idefics3 plan counts {plan.num_images} images, transformers.js made {frames.shape[0]}")
    rec.add("plan", plan.to_dict(), "plan", note="canvas, grid: its get_resize_for_vision_encoder, split_image")
    rec.add("resize", arrays["resize"], "HWC (longest edge only)",
            note="uint8 longest-edge resize (sharp lanczos3); the resize to whole tiles happens after normalize, "
                 "on floats (interpolate_4d = ONNX Resize linear)")
    rec.add("normalize", frames, "images,C,H,W", note="the frames as split: normalized before the tile resize")
    rec.add("pack", frames, "images,C,H,W")
    rec.add("pixel_attention_mask", arrays["out.pixel_attention_mask"][0], "images,H,W")


def lfm2_vl(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Lfm2VlImageProcessor (``models/lfm2_vl``): ``ImageProcessor.preprocess`` first (with the config transformers
    writes -- ``do_resize`` and ``size`` 512x512 -- that squashes the image to 512x512), rescale and normalize of
    the whole image; then, on the floats, ``smart_resize`` / the tile grid of ``_get_grid_layout`` and
    ``interpolate_4d`` (ONNX Resize) to the tiles and the thumbnail; patches padded to ``max_num_patches``."""
    cfg = preset.hf_config
    patch, ds, tile = int(cfg["encoder_patch_size"]), int(cfg["downsample_factor"]), int(cfg["tile_size"])
    rows, cols = int(info["out.image_rows"][0]), int(info["out.image_cols"][0])
    new_h, new_w = (int(v) for v in info["out.image_sizes"][0])
    pack = arrays["out.pixel_values"]
    tiled = rows * cols > 1
    thumb = tiled and bool(cfg.get("use_thumbnail", True))
    if pack.shape[0] != (rows * cols + (1 if thumb else 0) if tiled else 1):
        raise ParityError(f"lfm2-vl: transformers.js made {pack.shape[0]} images for a {rows}x{cols} grid")
    tok = lfm2_geometry.tokens((rows, cols), lfm2_geometry.tokens_per_tile(tile, patch, ds),
                               lfm2_geometry.tokens_for_image((new_h, new_w), patch, ds), thumb)
    plan = lfm2_geometry.make_plan(_size(arrays, "decode"), tiled, (rows * tile, cols * tile) if tiled else (new_h, new_w),
                                   (rows, cols), tile, (new_h, new_w), thumb, tok)
    rec.add("plan", plan.to_dict(), "plan", note="grid and sizes: its image_rows / image_cols / image_sizes outputs")
    if "resize" in arrays:
        rec.add("resize", arrays["resize"], "HWC (ImageProcessor.preprocess, before the smart resize)",
                note="RawImage.resize to the config's size (sharp affine, no antialias)")
    rec.add("normalize", arrays["preprocessed"][None], "images,C,H,W (the whole image, before its resize to tiles)",
            note="rescale and normalize of the whole image; tiles and thumbnail are resized afterwards, on floats")
    rec.add("pack", pack, "images,patches,P*P*C (row-major patches)")
    rec.add("pixel_attention_mask", arrays["out.pixel_attention_mask"], "images,patches")
    rec.add("spatial_shapes", arrays["out.spatial_shapes"], "images,(h_patches,w_patches)")


def llava(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """CLIPImageProcessor (the base ImageProcessor): resize shortest edge (sizes floored after toFixed(2))
    -> RawImage.center_crop (sharp extract) -> rescale -> normalize."""
    h, w = _size(arrays, "resize")
    ch, cw = _size(arrays, "center_crop")
    # RawImage.center_crop: extract at Math.floor((size - crop) / 2) (the crop lies inside the resize)
    crop = ((h - ch) // 2, (w - cw) // 2, ch, cw)
    tokens = llava_geometry.tokens_hf(ch, preset["patch_size"], preset["num_additional_image_tokens"],
                                      preset["vision_feature_select_strategy"])
    image = _size(arrays, "decode")
    rec.add("plan", llava_geometry.make_plan(image, image, (h, w), crop, tokens).to_dict(), "plan")
    rec.add("resize", arrays["resize"], "HWC", note="RawImage.resize: sharp affine, no antialias")
    if "center_crop" in arrays:
        rec.add("tiles", _chw(arrays["center_crop"])[None], "tiles,C,H,W uint8", note="center crop")
    rec.add("normalize", arrays["preprocessed"], "C,H,W")
    rec.add("pack", arrays["out.pixel_values"], "batch,C,H,W")


def gemma3(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Gemma3ImageProcessor (the base ImageProcessor: no pan-and-scan): resize to size -> rescale ->
    normalize."""
    tokens = gemma3_geometry.tokens_with_newlines(preset["mm_tokens_per_image"], 0)
    plan = gemma3_geometry.make_plan(_size(arrays, "decode"), _size(arrays, "resize"), [], tokens)
    rec.add("plan", plan.to_dict(), "plan", note="no pan-and-scan in transformers.js")
    rec.add("resize", arrays["resize"], "HWC", note="RawImage.resize: sharp affine, no antialias")
    rec.add("normalize", arrays["preprocessed"][None], "images,C,H,W")
    rec.add("pack", arrays["out.pixel_values"], "images,C,H,W")


def gemma4(arrays: dict, info: dict, preset: Preset, rec: TraceBuilder) -> None:
    """Gemma4ImageProcessor: aspect-preserving size -> RawImage.resize (sharp) -> rescale -> patchify
    (P*P*C per patch) -> zero rows up to max_patches."""
    cfg = preset.hf_config
    patch = int(cfg["patch_size"])
    resized = _size(arrays, "resize") if "resize" in arrays else _size(arrays, "decode")
    pack = arrays["out.pixel_values"][0]
    num_soft = info["out.num_soft_tokens_per_image"]
    tokens = gemma4_geometry.tokens_hf((resized[0] // patch, resized[1] // patch), int(cfg["pooling_kernel_size"]))
    plan = gemma4_geometry.make_plan(_size(arrays, "decode"), resized, patch, int(pack.shape[0]), tokens)
    rec.add("plan", plan.to_dict(), "plan")
    if "resize" in arrays:
        rec.add("resize", arrays["resize"], "HWC", note="RawImage.resize: sharp affine, no antialias")
    rec.add("pack", pack, "max_patches,P*P*C (zero rows after the real patches)")
    rec.add("image_position_ids", arrays["out.image_position_ids"][0], "max_patches,xy (-1 for padding)")
    rec.add("num_soft_tokens_per_image", np.asarray(num_soft, dtype=np.int64), "images")


#: preset family -> stage recorder(arrays, info, preset, rec)
RECIPES: dict[str, Callable[[dict, dict, Preset, TraceBuilder], None]] = {
    "qwen2-vl": qwen2_vl,
    "qwen3-vl": qwen2_vl,
    "idefics3": idefics3,
    "lfm2-vl": lfm2_vl,
    "glm4v": glm4v,
    "llava": llava,
    "gemma3": gemma3,
    "gemma4": gemma4,
}
