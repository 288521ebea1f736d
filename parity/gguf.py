"""llama.cpp mmproj GGUF files: the ``clip.*`` metadata, the preset it implies, and what it leaves out.

Reads the metadata with the ``gguf`` package (``GGUFReader``; tensors are not loaded). What llama.cpp
makes of the keys (projector -> preprocessor, per-projector defaults) is ported from llama.cpp 0c1e570
``tools/mtmd/clip.cpp`` and ``mtmd.cpp`` in ``parity.impls.llamacpp.hparams``.

- ``preset_from_gguf(path)``: a Preset whose values are the file's keys under their GGUF names
  (``clip.vision.image_size``...), each sourced ``GGUF <file> key <key>``; ``parity run --gguf FILE``
  runs the ``llamacpp`` impls from it.
- ``inspect_mmproj(path, hf_config_path=None)``: a JSON-able report: derived preprocessing, key values,
  warnings about missing optional keys and their consequences, and disagreements with the checkpoint's
  HF ``preprocessor_config.json``. ``render_gguf_text(report)`` prints it.
  Every projector type of llama.cpp 0c1e570 is recognised (``parity.impls.llamacpp.projectors``): the report
  names its family (the one mapping, ``hparams.FAMILY_OF_PROJECTOR``) and the presets of that family; one this
  port does not run (audio, or no port) is reported with ``status`` and ``reason`` instead of derived values.
Malformed, truncated or non-GGUF files raise ParityError with one line, and so does a value llama.cpp
would choke on: ``validate_clip`` checks every preprocessing key's type and range (``CLIP_BOUNDS``)
and ``validate_hf_config`` the HF config's, before anything is derived from them.
"""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
from gguf import GGUFReader, GGUFValueType

from parity.errors import ParityError
from parity.files import MAX_CONFIG_BYTES, open_regular, read_regular
from parity.impls.llamacpp import hparams as hk
from parity.impls.llamacpp.hparams import family_of
from parity.impls.llamacpp.projectors import recognise
from parity.presets import Preset, all_presets, preset_from_dict

GGUF_MAGIC = b"GGUF"
#: the metadata and tensor infos are at the start of the file; an mmproj's are a few MB at most (a
#: full model with a tokenizer vocabulary, ~10 MB): reading past them is not needed to check them
MAX_GGUF_HEADER_BYTES = 64 * 2**20

#: PIL resample codes (HF preprocessor_config.json ``resample``) -> llama.cpp filter names
PIL_RESAMPLE = {0: "nearest", 1: "lanczos", 2: "bilinear", 3: "bicubic", 4: "box", 5: "hamming"}


def _plain(value: Any) -> Any:
    """gguf field contents -> JSON-able Python values."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _field_value(field: Any) -> Any:
    value = _plain(field.contents())
    if field.types and field.types[-1] == GGUFValueType.FLOAT32:
        # stored as float32: keep the shortest decimal that gives the same float32 (0.48145467, not
        # 0.48145467042922974); converting back to float32 gives the stored bits
        as32 = lambda x: float(str(np.float32(x)))  # noqa: E731
        value = [as32(x) for x in value] if isinstance(value, list) else as32(value)
    return value


#: GGUF value type -> fixed size in bytes (gguf-py ``GGUFValueType``: 0 u8, 1 i8, 2 u16, 3 i16, 4 u32,
#: 5 i32, 6 f32, 7 bool, 8 string, 9 array, 10 u64, 11 i64, 12 f64)
_SCALAR_SIZE = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}
_STRING, _ARRAY = 8, 9
#: ggml's GGML_MAX_DIMS
_MAX_DIMS = 4


def check_gguf_structure(data: bytes) -> str | None:
    """What makes the header, metadata and tensor-info sections of a GGUF file impossible (a count or
    a length larger than the bytes that follow, an unknown value type), or None. Checked before the
    gguf reader parses the file: a corrupt count must not make it allocate without bound."""
    end, pos = len(data), 4

    def take(n: int) -> int:
        nonlocal pos
        if n < 0 or pos + n > end:
            raise ValueError(f"needs {n} bytes at offset {pos}, the file has {end - pos} left")
        start, pos = pos, pos + n
        return start

    def u32() -> int:
        return int.from_bytes(data[take(4):pos], "little")

    def u64() -> int:
        return int.from_bytes(data[take(8):pos], "little")

    def string() -> None:
        take(u64())

    def value(vtype: int) -> None:
        if vtype in _SCALAR_SIZE:
            take(_SCALAR_SIZE[vtype])
        elif vtype == _STRING:
            string()
        elif vtype == _ARRAY:
            etype, count = u32(), u64()
            if etype == _ARRAY:
                raise ValueError("an array of arrays")
            least = _SCALAR_SIZE.get(etype, 8)
            if count * least > end - pos:
                raise ValueError(f"an array of {count} values needs at least {count * least} bytes, {end - pos} left")
            if etype in _SCALAR_SIZE:
                take(count * least)
            else:
                for _ in range(count):
                    value(etype)
        else:
            raise ValueError(f"unknown value type {vtype}")

    try:
        version = u32()
        if version not in (2, 3):
            return f"GGUF version {version} (readable: 2, 3)"
        n_tensors, n_kv = u64(), u64()
        if n_kv * 12 > end - pos or n_tensors * 24 > end - pos:
            return f"{n_kv} metadata keys and {n_tensors} tensors cannot fit in {end} bytes"
        for _ in range(n_kv):
            string()
            value(u32())
        for _ in range(n_tensors):
            string()
            n_dims = u32()
            if n_dims > _MAX_DIMS:
                return f"a tensor with {n_dims} dimensions (ggml allows {_MAX_DIMS})"
            take(8 * n_dims + 4 + 8)
    except ValueError as e:
        return str(e)
    return None


def read_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """Every metadata key of a GGUF file -> its value (tensors are not read)."""
    p = Path(path)
    fd, size = open_regular(p, "GGUF file")  # not found / a directory / a FIFO / a symlink loop: one line each
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_GGUF_HEADER_BYTES)
    magic = data[:4]
    if size == 0:
        raise ParityError(f"GGUF file is empty (0 bytes): {p}")
    if magic != GGUF_MAGIC:
        raise ParityError(f"not a GGUF file (magic {magic!r}, expected b'GGUF'): {p}")
    problem = check_gguf_structure(data)
    if problem is not None:
        raise ParityError(f"malformed or truncated GGUF file {p}: {problem}")
    try:
        reader = GGUFReader(p, "r")
        meta = {name: _field_value(field) for name, field in reader.fields.items()}
    except ParityError:
        raise
    except Exception as e:  # the reader raises ValueError, IndexError, struct/numpy errors on bad files
        reason = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ParityError(f"malformed or truncated GGUF file {p}: {reason}") from None
    return meta


def clip_metadata(path: str | os.PathLike) -> dict[str, Any]:
    """The ``clip.*`` keys of an mmproj file; a file without any is not an mmproj."""
    meta = read_metadata(path)
    clip = {k: v for k, v in meta.items() if k.startswith("clip.")}
    if not clip:
        arch = meta.get("general.architecture", "?")
        raise ParityError(f"not an mmproj file (no clip.* keys; general.architecture={arch!r}): {path}")
    return clip


#: plausible ranges of the preprocessing keys (inclusive). llama.cpp checks none of them; real mmproj files
#: use image_size 224 (CLIP ViT-L/14), 336 (LLaVA-1.5/1.6), 384 (SigLIP, Idefics3), 448 (MiniCPM-V,
#: InternVL), 560 (Llama 3.2 Vision), 896 (Gemma 3), 1024 (Pixtral 12B), 1540 (Mistral Small 3.1);
#: patch_size 14 or 16; merge/scale factors 2..4; Idefics3/SmolVLM longest edges up to 2048; pixel
#: limits up to Qwen2-VL's 12,845,056; InternVL up to 12 tiles. The bounds leave generous room above.
CLIP_BOUNDS: dict[str, tuple[int, int]] = {
    hk.KEY_IMAGE_SIZE: (1, 8192),
    hk.KEY_PATCH_SIZE: (1, 1024),
    hk.KEY_SCALE_FACTOR: (1, 64),
    hk.KEY_SPATIAL_MERGE: (1, 64),
    hk.KEY_PREPROC_IMAGE_SIZE: (1, 16384),
    hk.KEY_MIN_PIXELS: (1, 2**28),
    hk.KEY_MAX_PIXELS: (1, 2**28),
    hk.KEY_MIN_TILES: (0, 256),
    hk.KEY_MAX_TILES: (1, 256),
}
#: each image_grid_pinpoints value (a candidate side in pixels): LLaVA-1.6 uses 336..1008, granite 384..3840
PINPOINT_BOUNDS = (1, 16384)


def _is_int(v: Any) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, bool)


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool)


def _triple(v: Any, key: str, where: str, positive: bool) -> None:
    """At least 3 finite numbers (llama.cpp reads the first 3); std strictly positive."""
    if not isinstance(v, (list, tuple)) or len(v) < 3 or not all(_is_number(x) for x in v[:3]):
        raise ParityError(f"{where}: {key} must be a list of 3 numbers, got {_short(v, 60)}")
    bad = [x for x in v[:3] if not math.isfinite(float(x)) or (positive and float(x) <= 0)]
    if bad:
        need = "finite and > 0" if positive else "finite"
        raise ParityError(f"{where}: {key} values must be {need}, got {_short(list(v[:3]), 60)}")


def validate_clip(clip: dict[str, Any], where: str) -> None:
    """One-line ParityError for a preprocessing key of the wrong type or outside CLIP_BOUNDS."""
    for key, (lo, hi) in CLIP_BOUNDS.items():
        if key in clip:
            v = clip[key]
            if not _is_int(v) or not lo <= int(v) <= hi:
                raise ParityError(f"{where}: {key} must be an integer in {lo}..{hi}, got {_short(v, 60)}")
    if hk.KEY_MIN_PIXELS in clip and hk.KEY_MAX_PIXELS in clip and clip[hk.KEY_MIN_PIXELS] > clip[hk.KEY_MAX_PIXELS]:
        raise ParityError(f"{where}: {hk.KEY_MIN_PIXELS}={clip[hk.KEY_MIN_PIXELS]} exceeds "
                          f"{hk.KEY_MAX_PIXELS}={clip[hk.KEY_MAX_PIXELS]}")
    for key, positive in ((hk.KEY_IMAGE_MEAN, False), (hk.KEY_IMAGE_STD, True)):
        if key in clip:
            _triple(clip[key], key, where, positive)
    if hk.KEY_PINPOINTS in clip:
        pins = clip[hk.KEY_PINPOINTS]
        lo, hi = PINPOINT_BOUNDS
        if not isinstance(pins, list) or not all(_is_int(x) for x in pins):
            raise ParityError(f"{where}: {hk.KEY_PINPOINTS} must be a list of integers, got {_short(pins, 60)}")
        if len(pins) % 2:
            raise ParityError(f"{where}: {hk.KEY_PINPOINTS} must hold (width, height) pairs, an even number of "
                              f"values; it has {len(pins)}")
        for i in range(0, len(pins), 2):
            w, h = int(pins[i]), int(pins[i + 1])
            if not (lo <= w <= hi and lo <= h <= hi):
                raise ParityError(f"{where}: {hk.KEY_PINPOINTS} pair {i // 2 + 1} is {w}x{h}: each side must be in "
                                  f"{lo}..{hi} (a {w}x{h} candidate resolution cannot hold an image)")
    for key in (hk.KEY_PROJ_TYPE, hk.KEY_VISION_PROJ_TYPE):
        if key in clip and not isinstance(clip[key], str):
            raise ParityError(f"{where}: {key} must be a string, got {_short(clip[key], 60)}")


def checked_hparams(clip: dict[str, Any], path: str | os.PathLike) -> hk.ClipHparams:
    """``hparams_from_gguf`` after ``validate_clip``: every failure is one line naming the file."""
    where = f"mmproj {path}"
    validate_clip(clip, where)
    rec = recognise(hk.projector_of(clip))
    if rec.status != "ported":
        raise ParityError(f"{where}: projector {rec.name!r} is not covered by the llamacpp port: {rec.reason}")
    return hk.hparams_from_gguf(clip)  # refuses what llama.cpp refuses, with one line


def presets_of_family(family: str | None) -> list[str]:
    """The presets whose geometry is that family's (what an mmproj of that projector is run as)."""
    return sorted(name for name, p in all_presets().items() if family and p.family == family)


def preset_from_gguf(path: str | os.PathLike) -> Preset:
    """The preset llama.cpp would run from this mmproj: its clip.* keys as values, under GGUF names."""
    clip = clip_metadata(path)
    hp = checked_hparams(clip, path)
    name = Path(path).name
    return preset_from_dict({
        "name": f"gguf:{Path(path).stem}",
        "family": family_of(hp),
        "checkpoint": f"mmproj {name}",
        "description": f"derived from {name}: projector {hp.projector}, preprocessor {hp.preprocessor}",
        "values": {k: {"value": v, "source": f"GGUF {name} key {k}"} for k, v in clip.items()},
    }, str(path))


# -- report -----------------------------------------------------------------------------------------

def _warnings(clip: dict[str, Any], hp: hk.ClipHparams) -> list[str]:
    w: list[str] = []
    has = clip.__contains__
    if not clip.get(hk.KEY_HAS_VISION):
        w.append(f"{hk.KEY_HAS_VISION} is missing or false: llama.cpp loads no vision encoder from this file")
    if hp.projector in hk.LLAVA_PROJECTORS and not has(hk.KEY_PINPOINTS):
        merge = clip.get(hk.KEY_MERGE_TYPE)
        why = (f" although {hk.KEY_MERGE_TYPE}={merge!r} marks a LLaVA-NeXT (anyres) model"
               if merge == "spatial_unpad" else "")
        w.append(f"{hk.KEY_PINPOINTS} is missing{why}: the image is preprocessed as fixed-size (one "
                 f"{hp.image_size}x{hp.image_size} image, aspect-padded with {list(hp.pad_color)}), no anyres tiles")
    odd = [f"{cw}x{ch}" for cw, ch in hp.res_candidates if cw % hp.image_size or ch % hp.image_size]
    if hp.projector in hk.LLAVA_PROJECTORS and odd:
        w.append(f"{hk.KEY_PINPOINTS} has candidates that are not multiples of {hk.KEY_IMAGE_SIZE}={hp.image_size} "
                 f"({', '.join(odd[:5])}): their slices do not tile the refined image evenly")
    if hp.projector in hk.LLAVA_PROJECTORS and hp.res_candidates:
        w.append("known llama.cpp 0c1e570 quirk: with pinpoints the refined image is padded with black, not "
                 "(122, 116, 104) (clip.cpp sets that colour only when there are no pinpoints)")
    if hp.projector == "resampler" and not has(hk.KEY_MINICPMV_VERSION):
        w.append(f"{hk.KEY_MINICPMV_VERSION} is missing: llama.cpp assumes 2 (MiniCPM-Llama3-V 2.5 layout)")
    if hp.projector == "idefics3" and not has(hk.KEY_PREPROC_IMAGE_SIZE):
        w.append(f"{hk.KEY_PREPROC_IMAGE_SIZE} is missing: no longest-edge Lanczos path; the image is aligned "
                 f"to {hp.image_size} by calc_size_preserved_ratio and sliced with bicubic + black pad")
    if hp.projector in ("idefics3", "internvl", "llama4") and not has(hk.KEY_SCALE_FACTOR):
        w.append(f"{hk.KEY_SCALE_FACTOR} is missing: n_merge = 1 (the projector's token count will be wrong)")
    if hp.projector == "internvl" and not (has(hk.KEY_MIN_TILES) and has(hk.KEY_MAX_TILES)):
        w.append(f"{hk.KEY_MIN_TILES}/{hk.KEY_MAX_TILES} missing: llama.cpp uses 1..12 tiles")
    if hp.projector == "qwen3vl_merger" and not has(hk.KEY_SPATIAL_MERGE):
        w.append(f"{hk.KEY_SPATIAL_MERGE} is missing: n_merge = 2 (the Qwen2/2.5 default)")
    if hp.projector == "pixtral" and not has(hk.KEY_SPATIAL_MERGE):
        w.append(f"{hk.KEY_SPATIAL_MERGE} is missing: n_merge = 1 (right for Pixtral-12B, not for Mistral Small 3.1)")
    if hp.preprocessor == "dyn_size" and hp.projector != "phi4":
        w.append(f"pixel limits are not in the file: llama.cpp uses {hp.image_min_pixels}..{hp.image_max_pixels} "
                 "pixels (its per-projector token limits), whatever the HF config says")
    return w


def _f32(values: Any) -> list[float]:
    return [float(v) for v in np.asarray(values, dtype=np.float32).ravel()]


def _hf_sizes(cfg: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for key in ("size", "crop_size", "max_image_size"):
        v = cfg.get(key)
        if isinstance(v, dict):
            out.update({f"{key}.{k}": v[k] for k in v})
        elif v is not None:
            out[key] = v
    return out


def _disagreements(clip: dict[str, Any], hp: hk.ClipHparams, cfg: dict[str, Any]) -> list[dict[str, Any]]:
    d: list[dict[str, Any]] = []

    def add(what: str, gguf_value: Any, hf_value: Any, consequence: str) -> None:
        d.append({"what": what, "gguf": gguf_value, "hf": hf_value, "consequence": consequence})

    for name, ours in (("image_mean", hp.image_mean), ("image_std", hp.image_std)):
        theirs = cfg.get(name) or cfg.get({"image_mean": "norm_mean", "image_std": "norm_std"}[name])
        if theirs is not None and (_f32(theirs) * 3)[:3] != list(ours):
            add(name, list(ours), theirs, "normalize differs for every pixel")
    sizes = _hf_sizes(cfg)
    for key in ("size.height", "size.width", "crop_size.height", "crop_size.width", "size.shortest_edge",
                "max_image_size.longest_edge"):
        if key in sizes and sizes[key] != hp.image_size and hp.preprocessor in ("fixed_size", "llava_uhd",
                                                                                 "idefics3", "internvl"):
            add(f"{key} vs {hk.KEY_IMAGE_SIZE}", hp.image_size, sizes[key], "tile / image size differs")
    if hp.projector == "idefics3" and "size.longest_edge" in sizes and sizes["size.longest_edge"] != hp.image_longest_edge:
        add(f"size.longest_edge vs {hk.KEY_PREPROC_IMAGE_SIZE}", hp.image_longest_edge, sizes["size.longest_edge"],
            "the longest-edge resize differs")
    patch = cfg.get("patch_size")
    patch = patch.get("height") if isinstance(patch, dict) else patch
    if patch is not None and patch != hp.patch_size:
        add(f"patch_size vs {hk.KEY_PATCH_SIZE}", hp.patch_size, patch, "alignment of the resize differs")
    merge = cfg.get("merge_size") or cfg.get("spatial_merge_size")
    if merge is not None and hp.preprocessor == "dyn_size" and merge != hp.n_merge:
        add("merge_size vs n_merge", hp.n_merge, merge, "smart-resize alignment differs")
    if hp.preprocessor == "dyn_size":
        for key, ours in (("min_pixels", hp.image_min_pixels), ("max_pixels", hp.image_max_pixels)):
            theirs = cfg.get(key, sizes.get({"min_pixels": "size.shortest_edge", "max_pixels": "size.longest_edge"}[key]))
            if theirs is not None and theirs != ours:
                add(key, ours, theirs, "smart-resize limits differ: large or small images get other sizes")
    resample = cfg.get("resample")
    if isinstance(resample, int):
        theirs = PIL_RESAMPLE.get(resample, str(resample))
        ours = hp.resize_algo if hp.preprocessor in ("fixed_size", "dyn_size") else hp.resize_algo_rf
        if hp.preprocessor == "idefics3" and hp.image_longest_edge > 0:
            ours = hp.resize_algo
        if theirs != ours:
            add("resample", ours, f"{resample} ({theirs})", "resampling filter differs")
    pins = cfg.get("image_grid_pinpoints")
    if pins is not None:
        hf_wh = [(int(p[1]), int(p[0])) for p in pins]  # transformers reads each pair as (height, width)
        ours = [tuple(c) for c in hp.res_candidates] if hp.projector in hk.LLAVA_PROJECTORS else []
        if not ours:
            add("image_grid_pinpoints", None, pins, "the HF processor tiles (anyres); llama.cpp does not")
        elif set(ours) != set(hf_wh):
            add("image_grid_pinpoints (as width x height)", [list(c) for c in ours], [list(c) for c in hf_wh],
                "different candidate resolutions")
        elif ours != hf_wh:
            add("image_grid_pinpoints order (as width x height)", [list(c) for c in ours], [list(c) for c in hf_wh],
                "same candidates in another order: llama.cpp reads the pairs as (width, height), transformers "
                "as (height, width); ties in select_best_resolution go to the first listed")
    return d


#: HF preprocessor_config.json sizes: pixels (336, 560, 1456...) or, for Qwen2-VL's ``size``, pixel
#: counts (shortest_edge 3136, longest_edge 12,845,056)
HF_SIZE_MAX = 2**28


def load_hf_config(p: Path) -> dict[str, Any]:
    """A ``preprocessor_config.json``: a JSON object (at most MAX_CONFIG_BYTES) whose keys that
    ``parity gguf`` compares are validated (``validate_hf_config``)."""
    data = read_regular(p, "HF config", MAX_CONFIG_BYTES)
    try:
        cfg = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as e:
        raise ParityError(f"HF config is not valid JSON: {p}: {str(e).splitlines()[0][:120]}") from None
    if not isinstance(cfg, dict):
        raise ParityError(f"HF config is not a JSON object: {p}")
    validate_hf_config(cfg, f"HF config {p}")
    return cfg


def validate_hf_config(cfg: dict[str, Any], where: str) -> None:
    """One-line ParityError for a compared key of the wrong type or out of range."""
    def int_in(key: str, v: Any, lo: int, hi: int) -> None:
        if not _is_int(v) or not lo <= v <= hi:
            raise ParityError(f"{where}: {key} must be an integer in {lo}..{hi}, got {_short(v, 60)}")

    for key, positive in (("image_mean", False), ("image_std", True), ("norm_mean", False), ("norm_std", True)):
        v = cfg.get(key)
        if v is None:
            continue
        if _is_number(v):  # transformers accepts one number for every channel
            v = [v, v, v]
        if isinstance(v, list) and len(v) == 1:
            v = v * 3
        _triple(v, key, where, positive)
        if len(v) != 3:
            raise ParityError(f"{where}: {key} must have 3 values (R, G, B), got {len(v)}")
    for key in ("size", "crop_size", "max_image_size"):
        v = cfg.get(key)
        if isinstance(v, dict):
            for k, x in v.items():
                if x is not None:
                    int_in(f"{key}.{k}", x, 1, HF_SIZE_MAX)
        elif v is not None:
            int_in(key, v, 1, HF_SIZE_MAX)
    patch = cfg.get("patch_size")
    if isinstance(patch, dict):
        for k, x in patch.items():
            int_in(f"patch_size.{k}", x, 1, 1024)
    elif patch is not None:
        int_in("patch_size", patch, 1, 1024)
    for key in ("merge_size", "spatial_merge_size"):
        if cfg.get(key) is not None:
            int_in(key, cfg[key], 1, 64)
    for key in ("min_pixels", "max_pixels"):
        if cfg.get(key) is not None:
            int_in(key, cfg[key], 1, 2**31 - 1)
    if cfg.get("resample") is not None:
        int_in("resample", cfg["resample"], 0, 5)
    pins = cfg.get("image_grid_pinpoints")
    if pins is not None:
        lo, hi = PINPOINT_BOUNDS
        if not isinstance(pins, list) or not all(
                isinstance(q, list) and len(q) == 2 and all(_is_int(x) and lo <= x <= hi for x in q) for q in pins):
            raise ParityError(f"{where}: image_grid_pinpoints must be a list of [height, width] pairs of integers "
                              f"in {lo}..{hi}, got {_short(pins, 60)}")


def inspect_mmproj(path: str | os.PathLike, hf_config_path: str | os.PathLike | None = None) -> dict[str, Any]:
    """A JSON-able report on the preprocessing this mmproj implies in llama.cpp 0c1e570."""
    clip = clip_metadata(path)
    validate_clip(clip, f"mmproj {path}")
    rec = recognise(hk.projector_of(clip))
    if rec.status != "ported":  # recognised (or not) with the reason: keys only, nothing derived
        report = {"file": str(path), "llama_cpp": "0c1e570 (tools/mtmd)", "projector": rec.name,
                  "family": rec.family, "presets": presets_of_family(rec.family), "preprocessor": rec.preprocessor,
                  "status": rec.status, "reason": rec.reason, "keys": clip, "derived": None, "warnings": []}
        if hf_config_path is not None:
            report["hf_config"] = str(hf_config_path)
            load_hf_config(Path(hf_config_path))  # validated all the same; nothing to compare it with
            report["disagreements"] = []
        return report
    hp = checked_hparams(clip, path)
    family = family_of(hp)
    report: dict[str, Any] = {
        "file": str(path),
        "llama_cpp": "0c1e570 (tools/mtmd)",
        "projector": hp.projector,
        "family": family,
        "presets": presets_of_family(family),
        "preprocessor": hp.preprocessor,
        "status": "ported",
        "reason": "",
        "keys": clip,
        "derived": hp.to_dict(),
        "warnings": _warnings(clip, hp),
    }
    if hf_config_path is not None:
        p = Path(hf_config_path)
        cfg = load_hf_config(p)
        report["hf_config"] = str(p)
        report["disagreements"] = _disagreements(clip, hp, cfg)
    return report


def _short(v: Any, limit: int = 100) -> str:
    s = json.dumps(v)
    return s if len(s) <= limit else s[:limit - 3] + "..."


def render_gguf_text(report: dict[str, Any]) -> str:
    presets = ", ".join(report.get("presets") or []) or "none"
    lines = [f"mmproj {report['file']} (llama.cpp {report['llama_cpp']})",
             f"projector {report['projector']} -> preprocessor {report['preprocessor']} "
             f"(family {report['family']}; presets: {presets})"]
    if report.get("status", "ported") != "ported":
        lines.append(f"{report['status']}: {report['reason']}")
    lines += ["", "clip.* keys:"]
    lines += [f"  {k} = {_short(v)}" for k, v in sorted(report["keys"].items())]
    if report["derived"] is not None:
        lines += ["", "derived preprocessing:"]
        lines += [f"  {k}: {_short(v)}" for k, v in report["derived"].items()]
    lines += ["", f"warnings ({len(report['warnings'])}):"]
    lines += [f"  - {w}" for w in report["warnings"]] or ["  none"]
    if "disagreements" in report:
        lines += ["", f"disagreements with {report['hf_config']} ({len(report['disagreements'])}):"]
        lines += [f"  - {d['what']}: gguf {_short(d['gguf'], 60)} vs hf {_short(d['hf'], 60)} ({d['consequence']})"
                  for d in report["disagreements"]] or ["  none"]
    return "\n".join(lines) + "\n"
