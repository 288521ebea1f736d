"""Why does a tensor differ from a reference trace? A ranked list of likely causes, each with evidence.

Method: every hypothesis *predicts* the tensor the reference pipeline would have produced with that one
mistake (channels reversed, no mean/std, another resize kernel, pad colour...), then the prediction is
scored against the observed tensor. A cause is claimed only when its prediction explains the observed
tensor far better than the reference itself does:

- ``exact``: the prediction equals the observed tensor bit for bit;
- ``close``: residual NMSE at most 1/10 of the reference's and every element within 1.5 uint8 levels
  (what arithmetic rounding of another implementation leaves);
- ``partial``: residual NMSE at most 1/4 of the reference's.

Ranked by (tier, residual NMSE, order of HYPOTHESES). Nothing explains it -> no cause: "unknown".

Predictions are built from the reference trace itself, so they carry its exact arithmetic:
- pack-level hypotheses transform the reference ``pack`` (layout, channel order, dtype rounding...);
- canvas-level hypotheses rebuild the uint8 canvas (the ``pad`` stage: a different resize kernel, pad
  colour, pad position, target size) and map it to ``pack`` through the reference's own per-channel
  lookup table uint8 -> float (``Normalizer``: exact when normalization is elementwise, as in every
  impl so far; checked on the reference, not assumed);
- decode-level hypotheses (alpha policy, EXIF orientation) re-run the reference impl on re-decoded
  pixels through stage injection (``ImageInput(path, injected=...)``).

Levels: |Δ|·255·std; for a prediction in another layout the mean of the preset's std is used.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.compare import layout_axes
from parity.trace import Trace

#: mean/std sets a port may have used instead of the checkpoint's (name -> (mean, std))
KNOWN_NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "CLIP (OpenAI)": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "ImageNet default": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "ImageNet standard 0.5": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}

TIERS = ("exact", "close", "partial")
CLOSE_NMSE_RATIO = 0.1
CLOSE_MAX_LEVELS = 1.5
PARTIAL_NMSE_RATIO = 0.25


@dataclass(frozen=True)
class Cause:
    """One likely cause: what, at which stage, how well its prediction matches, and why we think so."""

    name: str  # stable id, e.g. "resample-filter", "hwc-vs-chw"
    stage: str  # the pipeline stage where the mistake happens
    title: str  # one line: the mistake
    evidence: str  # one line: the numbers behind the claim
    match: str  # exact | close | partial
    nmse: float  # residual NMSE of the prediction against the observed tensor
    max_levels: float  # residual max |Δ| in uint8 levels
    n_diff: int  # residual number of differing elements
    detail: dict = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "stage": self.stage, "title": self.title, "evidence": self.evidence,
                "match": self.match, "residual": {"nmse": self.nmse, "max_levels": self.max_levels,
                                                  "n_diff": self.n_diff}, "detail": self.detail}


@dataclass(frozen=True)
class Diagnosis:
    """Ranked causes, what the reference itself scores, what was checked and what could not be."""

    reference: str  # impl name of the reference trace
    baseline: dict  # {"nmse", "max_levels", "n_diff", "n"}: the reference against the observed tensor
    causes: tuple[Cause, ...]
    checked: tuple[str, ...]
    skipped: dict[str, str]  # hypothesis -> why it could not be checked
    localized: dict | None = None  # {"stage", "evidence"} from the implied uint8 canvas, when inferable

    @property
    def top(self) -> Cause | None:
        return self.causes[0] if self.causes else None

    @property
    def unknown(self) -> bool:
        return self.baseline["n_diff"] > 0 and not self.causes

    def to_dict(self) -> dict[str, Any]:
        return {"reference": self.reference, "baseline": self.baseline,
                "causes": [c.to_dict() for c in self.causes],
                "verdict": ("no difference" if self.baseline["n_diff"] == 0 else
                            "unknown" if not self.causes else self.causes[0].name),
                "localized": self.localized, "checked": list(self.checked), "skipped": self.skipped}


# ---------------------------------------------------------------------------------------------------
# The reference pipeline, as far as predictions need it


@dataclass(frozen=True)
class PackGeometry:
    """How the ``pad`` canvas (H, W, C) becomes ``pack`` (n, C, T, T): row-major tiles of T."""

    grid: tuple[int, int]  # (rows, cols)
    tile: int
    single: bool  # pack is one (C, T, T) image, not a stack of tiles

    def from_canvas(self, canvas: np.ndarray) -> np.ndarray:
        rows, cols = self.grid
        t = self.tile
        c = canvas.shape[-1]
        out = canvas.reshape(rows, t, cols, t, c).transpose(0, 2, 4, 1, 3).reshape(rows * cols, c, t, t)
        return out[0] if self.single else out


def pack_geometry(ref: Trace) -> tuple[PackGeometry | None, str]:
    """The canvas -> pack map of the reference, or None and why not."""
    pad, pack = ref.get("pad"), ref.get("pack")
    if pad is None or pack is None or pad.kind != "array" or pack.kind != "array":
        return None, "the reference has no single-array pad and pack stages"
    axes, shape = layout_axes(pack.layout), pack.shape
    single = axes[-3:] == ["C", "H", "W"] and len(shape) == 3
    if axes[-3:] != ["C", "H", "W"] or len(shape) not in (3, 4) or shape[-1] != shape[-2]:
        return None, f"pack layout {pack.layout!r} is not tiles,C,H,W / C,H,W of square tiles"
    t, (h, w, _) = shape[-1], pad.shape
    if h % t or w % t or (1 if single else shape[0]) != (h // t) * (w // t):
        return None, f"pad canvas {h}x{w} does not split into the {shape} pack"
    return PackGeometry((h // t, w // t), t, single), ""


@dataclass(frozen=True)
class Normalizer:
    """The reference's own uint8 -> float map per channel (a 256-entry table), read off pad -> pack."""

    lut: np.ndarray  # (C, 256) float32
    exact: bool  # the table reproduces the reference pack bit for bit

    def apply(self, canvas_pack: np.ndarray, cax: int) -> np.ndarray:
        """uint8 values in pack layout (channel axis ``cax``) -> float32 pack."""
        idx = [slice(None)] * canvas_pack.ndim
        out = np.empty(canvas_pack.shape, np.float32)
        for c in range(canvas_pack.shape[cax]):
            idx[cax] = c
            out[tuple(idx)] = self.lut[c][canvas_pack[tuple(idx)]]
        return out


def normalizer(canvas_pack: np.ndarray, pack: np.ndarray, cax: int, mean: np.ndarray, std: np.ndarray,
               rescale: float) -> Normalizer:
    """Read the table off uint8 values aligned with the pack elements (``canvas_pack``) and the pack."""
    # values never seen on the reference canvas: the textbook formula (not bit-exact, rarely needed)
    v = np.arange(256, dtype=np.float64)
    lut = ((v[None, :] * rescale - mean[:, None]) / std[:, None]).astype(np.float32)
    for c in range(lut.shape[0]):
        keys = np.take(canvas_pack, c, axis=cax).ravel()
        lut[c, keys] = np.take(pack, c, axis=cax).ravel()
    n = Normalizer(lut, True)
    return Normalizer(lut, bool(np.array_equal(n.apply(canvas_pack, cax), pack)))


def aligned_uint8(ref: Trace, pack: np.ndarray) -> tuple[np.ndarray | None, str]:
    """A uint8 stage (not decode) holding exactly the pack's pixels: same (C, H, W) trailing layout and
    shape (e.g. uint8 tiles), or an HWC image whose CHW transpose is a one-image pack."""
    want = layout_axes(ref["pack"].layout)[-3:]
    for r in ref.stages[::-1]:
        if r.kind != "array" or r.dtype != "uint8" or r.name == "decode":
            continue
        axes = layout_axes(r.layout)
        if r.shape == tuple(pack.shape) and axes[-3:] == want == ["C", "H", "W"]:
            return r.value, r.name
        if axes == ["H", "W", "C"] and want == ["C", "H", "W"] and r.value.size == pack.size \
                and tuple(pack.shape[-3:]) == (r.shape[2], r.shape[0], r.shape[1]):
            return np.moveaxis(r.value, -1, 0).reshape(pack.shape), r.name
    return None, ""


def pack_source_u8(trace: Trace) -> tuple[np.ndarray | None, str]:
    """The uint8 value behind every element of ``trace``'s pack (the pad canvas cut into the pack's
    tiles, or an aligned uint8 stage), and its stage name; (None, "") when the trace has no such map."""
    rec = trace.get("pack")
    if rec is None or rec.kind != "array":
        return None, ""
    geo, _ = pack_geometry(trace)
    if geo is not None:
        return geo.from_canvas(trace["pad"].value), "pad"
    return aligned_uint8(trace, np.asarray(rec.value))


@dataclass
class Context:
    """Everything the hypotheses read: the reference trace and what can be derived from it."""

    ref: Trace
    preset: Any
    image_path: str | None
    impl: Any  # the reference Impl (for decode-level re-runs), or None
    observed: np.ndarray  # flat float64
    mean: np.ndarray
    std: np.ndarray
    rescale: float
    geo: PackGeometry | None = None
    norm: Normalizer | None = None
    src_u8: np.ndarray | None = None  # the uint8 values each pack element was normalized from
    src_stage: str = ""  # where src_u8 comes from
    why_no_canvas: str = ""
    why_no_source: str = ""

    @property
    def pack(self) -> np.ndarray:
        """The reference pack; a ragged one as its parts concatenated flat (inp_raw order)."""
        v = self.ref["pack"].value
        return np.concatenate([np.asarray(x).ravel() for x in v]) if isinstance(v, tuple) else np.asarray(v)

    @property
    def canvas(self) -> np.ndarray:
        return self.ref["pad"].value

    def render(self, canvas: np.ndarray) -> np.ndarray:
        """A uint8 canvas through the reference's tiling and normalization."""
        return self.norm.apply(self.geo.from_canvas(canvas), _channel_axis(self))

    def resized_box(self) -> tuple[int, int]:
        return tuple(self.ref["resize"].shape[:2])

    def place(self, resized: np.ndarray, position: str = "", fill: Any = None) -> np.ndarray:
        """Pad ``resized`` onto a canvas like the reference's; ``position`` default: the preset's."""
        h, w = resized.shape[:2]
        ch, cw, c = self.canvas.shape
        fill = self.preset.get("pad_value", 0) if fill is None else fill
        out = np.empty((ch, cw, c), np.uint8)
        out[...] = np.asarray(fill, dtype=np.uint8)
        position = position or self.preset.get("pad_position", "bottom-right")
        y0, x0 = {"bottom-right": (0, 0), "top-left": (ch - h, cw - w),
                  "center": ((ch - h) // 2, (cw - w) // 2)}[position]
        out[y0:y0 + h, x0:x0 + w] = resized
        return out

    def pad_mask(self) -> np.ndarray:
        """True where the reference canvas is padding (outside the resized image)."""
        h, w = self.resized_box()
        ch, cw, _ = self.canvas.shape
        mask = np.ones((ch, cw), bool)
        pos = self.preset.get("pad_position", "bottom-right")
        y0, x0 = {"bottom-right": (0, 0), "top-left": (ch - h, cw - w),
                  "center": ((ch - h) // 2, (cw - w) // 2)}.get(pos, (0, 0))
        mask[y0:y0 + h, x0:x0 + w] = False
        return mask


def make_context(ref: Trace, observed: np.ndarray, preset: Any, image_path: str | None = None,
                 impl: Any = None) -> Context:
    mean = np.asarray(preset.get("image_mean", (0.0, 0.0, 0.0)), np.float64)
    std = np.asarray(preset.get("image_std", (1.0, 1.0, 1.0)), np.float64)
    ctx = Context(ref, preset, image_path, impl, np.asarray(observed, np.float64).ravel(), mean, std,
                  float(preset.get("rescale_factor", 1 / 255)))
    geo, why = pack_geometry(ref)
    pack, cax = np.asarray(ref["pack"].value) if ref["pack"].kind == "array" else None, _channel_axis(ctx)
    if pack is None or cax < 0 or pack.shape[cax] != len(mean):
        ctx.why_no_source = "the reference pack has no channel axis matching the preset's mean/std"
        ctx.why_no_canvas = why or ctx.why_no_source
        return ctx
    if geo is not None:
        ctx.src_u8, ctx.src_stage = geo.from_canvas(ref["pad"].value), "pad"
    else:
        # a uint8 stage holding exactly the pack's elements (e.g. uint8 tiles normalized elementwise)
        ctx.src_u8, ctx.src_stage = aligned_uint8(ref, pack)
    if ctx.src_u8 is not None:
        norm = normalizer(ctx.src_u8, pack, cax, mean, std, ctx.rescale)
        if norm.exact:
            ctx.norm = norm
        else:
            ctx.src_u8, ctx.why_no_source = None, f"pack is not an elementwise function of {ctx.src_stage}"
    else:
        ctx.why_no_source = "no uint8 stage aligned with the pack"
    if geo is not None and ctx.norm is not None and ref.get("resize") is not None:
        ctx.geo = geo
    else:
        ctx.why_no_canvas = why or ctx.why_no_source or "the reference has no resize stage"
    return ctx


# ---------------------------------------------------------------------------------------------------
# Resize kernels re-run on the same decoded pixels


def _pil(filter_name: str) -> Callable:
    def run(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        from PIL import Image

        f = getattr(Image.Resampling, filter_name.upper())
        return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), f))
    return run


def _torchvision(mode: str, antialias: bool) -> Callable:
    def run(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        import torch
        from torchvision.transforms.v2 import InterpolationMode
        from torchvision.transforms.v2 import functional as F

        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)  # a writable copy
        y = F.resize(x, list(size), interpolation=InterpolationMode(mode), antialias=antialias)
        return y.permute(1, 2, 0).numpy()
    return run


def _opencv(flag: str) -> Callable:
    def run(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        import cv2

        return cv2.resize(rgb, (size[1], size[0]), interpolation=getattr(cv2, flag))
    return run


#: name -> fn(rgb uint8 HWC, (h, w)) -> uint8 HWC. Bicubic: PIL a=-0.5, torch/OpenCV a=-0.75.
RESAMPLE_KERNELS: dict[str, Callable] = {
    **{f"pil-{f}": _pil(f) for f in ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")},
    **{f"torchvision-{m}{'' if aa else '-noantialias'}": _torchvision(m, aa)
       for m in ("bilinear", "bicubic") for aa in (True, False)},
    "torchvision-nearest": _torchvision("nearest", False),
    "torchvision-nearest-exact": _torchvision("nearest-exact", False),
    **{f"opencv-{f[6:].lower().replace('_', '-')}": _opencv(f)
       for f in ("INTER_NEAREST", "INTER_NEAREST_EXACT", "INTER_LINEAR", "INTER_LINEAR_EXACT", "INTER_CUBIC",
                 "INTER_AREA", "INTER_LANCZOS4")},
}

def _rgba(rgb: np.ndarray) -> np.ndarray:
    """Opaque ``*image.RGBA`` bytes (what Go's scalers read for a decoded RGB image)."""
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def _runtime_kernels() -> dict[str, Callable]:
    """The runtime resizers ported in parity.kernels (Ollama's x/image/draw, llama.cpp's fixed-point
    Pillow and legacy clip.cpp), adapted to fn(rgb, (h, w)); modules not present are left out."""
    out: dict[str, Callable] = {}
    try:
        from parity.kernels import xdraw

        for k in ("bilinear", "catmullrom"):
            out[f"xdraw-{k}"] = lambda rgb, s, k=k: xdraw.resize_kernel_xdraw(_rgba(rgb), s, k)[..., :3]
        out["xdraw-nearest"] = lambda rgb, s: xdraw.resize_nearest_xdraw(_rgba(rgb).astype(np.uint16) * 0x101,
                                                                         s)[..., :3]
        out["xdraw-approxbilinear"] = lambda rgb, s: xdraw.resize_approxbilinear_xdraw(
            _rgba(rgb).astype(np.uint16) * 0x101, s)[..., :3]
    except ImportError:
        pass
    try:
        from parity.kernels import pillow_fixed

        for f in ("bilinear", "bicubic", "lanczos"):
            out[f"llamacpp-pillow-{f}"] = lambda rgb, s, f=f: pillow_fixed.resize_pillow_fixed(rgb, s[1], s[0], f)
    except ImportError:
        pass
    try:
        from parity.kernels import clip_legacy

        out["llamacpp-legacy-bicubic"] = lambda rgb, s: clip_legacy.resize_bicubic_llamacpp_legacy(rgb, s[1], s[0])
        out["llamacpp-legacy-bilinear"] = lambda rgb, s: clip_legacy.resize_bilinear_llamacpp_legacy(rgb, s[1], s[0])
    except ImportError:
        pass
    return out


def resample_kernels() -> dict[str, Callable]:
    return {**RESAMPLE_KERNELS, **_runtime_kernels()}


#: resized images of the last decoded image seen: {(kernel, (h, w)): uint8}, keyed by its sha256
_RESIZED: dict[str, dict] = {}


def resized_with(ctx: Context, name: str, size: tuple[int, int]) -> np.ndarray:
    """The reference's decoded pixels resized by kernel ``name`` (cached: several references of the
    same image, and several hypotheses, ask for the same resize)."""
    key = ctx.ref["decode"].sha256
    if key not in _RESIZED:
        _RESIZED.clear()
        _RESIZED[key] = {}
    cache = _RESIZED[key]
    if (name, tuple(size)) not in cache:
        cache[(name, tuple(size))] = resample_kernels()[name](ctx_decoded(ctx), tuple(size))
    return cache[(name, tuple(size))]


# ---------------------------------------------------------------------------------------------------
# Hypotheses: each yields (name, stage, title, prediction, detail); prediction is an array or None


Prediction = tuple[str, str, str, np.ndarray | None, dict]


def _channel_axis(ctx: Context) -> int:
    """The pack's channel axis from its layout label; -1 when there is none (or the pack is ragged)."""
    rec = ctx.ref["pack"]
    axes = layout_axes(rec.layout)
    if rec.kind != "array" or len(axes) != len(rec.shape) or "C" not in axes:
        return -1
    return axes.index("C")


def hyp_layout(ctx: Context) -> Iterator[Prediction]:
    p, cax = ctx.pack, _channel_axis(ctx)
    if cax < 0 or p.ndim < 3:
        return
    if cax != p.ndim - 1:
        yield ("hwc-vs-chw", "pack", "HWC vs CHW: channels last (…,H,W,C) where the encoder expects channels "
               "first", np.moveaxis(p, cax, -1), {"layout": "channels last"})
    else:
        yield ("hwc-vs-chw", "pack", "HWC vs CHW: channels first where channels last is expected",
               np.moveaxis(p, cax, -3), {"layout": "channels first"})


def hyp_wh_swap(ctx: Context) -> Iterator[Prediction]:
    p = ctx.pack
    if layout_axes(ctx.ref["pack"].layout)[-2:] == ["H", "W"] and p.ndim >= 2 and p.shape[-1] == p.shape[-2]:
        yield ("width-height-swap", "pack", "width/height swapped: each image/tile transposed (x and y exchanged)",
               np.swapaxes(p, -1, -2), {"variant": "tile transposed"})
    if ctx.geo is None:
        return
    h, w = ctx.resized_box()
    ch, cw, _ = ctx.canvas.shape
    if (h, w) != (w, h) and w <= ch and h <= cw:
        kname, kern = ctx_kernel(ctx)
        if kern is not None:
            resized = resized_with(ctx, kname, (w, h))
            yield ("width-height-swap", "resize", f"width/height swapped in the resize target: {w}x{h} (h x w) "
                   f"instead of {h}x{w}", ctx.render(ctx.place(resized)), {"variant": "target swapped",
                                                                            "kernel": kname})


def hyp_channel_order(ctx: Context) -> Iterator[Prediction]:
    cax = _channel_axis(ctx)
    if cax >= 0:
        yield ("rgb-vs-bgr", "pack", "RGB vs BGR: the channel planes are in reverse order",
               np.flip(ctx.pack, axis=cax), {"variant": "output planes reversed"})
    if ctx.src_u8 is not None:
        yield ("rgb-vs-bgr", "decode", "RGB vs BGR: pixels read as BGR (e.g. OpenCV imread), then normalized "
               "with RGB mean/std", ctx.norm.apply(np.flip(ctx.src_u8, axis=cax), cax), {"variant": "input read as BGR"})


def _canvas_pack(ctx: Context) -> np.ndarray:
    """The uint8 value behind every pack element, as float64."""
    return ctx.src_u8.astype(np.float64)


def _per_channel(ctx: Context, v: np.ndarray) -> np.ndarray:
    shape = [1] * ctx.pack.ndim
    shape[_channel_axis(ctx)] = len(v)
    return v.reshape(shape)


def hyp_normalization(ctx: Context) -> Iterator[Prediction]:
    if ctx.src_u8 is None:
        return
    x = _canvas_pack(ctx)
    m, s = _per_channel(ctx, ctx.mean), _per_channel(ctx, ctx.std)
    f32 = np.float32
    yield ("missing-normalization", "normalize", "normalization missing: values in 0..1, no mean/std applied",
           (x * ctx.rescale).astype(f32), {"range": "0..1"})
    yield ("range-0-255", "normalize", "0..255 vs 0..1: raw pixel values, neither rescaled nor normalized",
           x.astype(f32), {"range": "0..255"})
    yield ("range-0-255", "normalize", "0..255 vs 0..1: mean/std applied to 0..255 values (rescale 1/255 "
           "missing)", ((x - m) / s).astype(f32), {"range": "0..255 normalized"})
    yield ("doubled-normalization", "normalize", "normalization applied twice: (pack - mean)/std again",
           ((ctx.pack.astype(np.float64) - m) / s).astype(f32), {"variant": "mean/std twice"})
    yield ("doubled-normalization", "normalize", "rescale applied twice: (v/255/255 - mean)/std",
           ((x * ctx.rescale * ctx.rescale - m) / s).astype(f32), {"variant": "rescale twice"})
    for name, (mean, std) in KNOWN_NORMALIZATIONS.items():
        if np.allclose(mean, ctx.mean, atol=1e-6) and np.allclose(std, ctx.std, atol=1e-6):
            continue
        mm, ss = _per_channel(ctx, np.asarray(mean)), _per_channel(ctx, np.asarray(std))
        yield ("wrong-mean-std", "normalize", f"wrong mean/std: {name} constants instead of the preset's",
               ((x * ctx.rescale - mm) / ss).astype(f32), {"constants": name, "mean": list(mean),
                                                           "std": list(std)})


def hyp_normalize_arithmetic(ctx: Context) -> Iterator[Prediction]:
    """Same constants, other float arithmetic: what a different impl of rescale+normalize leaves."""
    if ctx.src_u8 is None:
        return
    x = _canvas_pack(ctx).astype(np.float32)
    f = np.float32
    m, s = _per_channel(ctx, ctx.mean.astype(f)), _per_channel(ctx, ctx.std.astype(f))
    r = f(ctx.rescale)
    variants = {
        "float32: v*rescale, then (x - mean)/std": (x * r - m) / s,
        # transformers' torchvision backend: mean and std scaled by 1/rescale in float32, one normalize
        "float32 fused: (v - mean*(1/rescale))/(std*(1/rescale))": (x - m * f(1 / ctx.rescale)) / (s * f(1 / ctx.rescale)),
        "float32: v/255, then (x - mean)/std": (x / f(255) - m) / s,
        "float32: (x - mean) * (1/std)": (x * r - m) * (f(1) / s),
        "float64, cast to float32": ((x.astype(np.float64) * ctx.rescale - _per_channel(ctx, ctx.mean))
                                     / _per_channel(ctx, ctx.std)).astype(f),
    }
    for label, pred in variants.items():
        yield ("normalize-arithmetic", "normalize", f"same constants, other float arithmetic: {label}",
               pred.astype(f), {"arithmetic": label})


def hyp_dtype_rounding(ctx: Context) -> Iterator[Prediction]:
    import torch

    p = np.array(ctx.pack, dtype=np.float32)  # a writable copy for torch.from_numpy
    yield ("float16-rounding", "pack", "float16 rounding of the tensor", p.astype(np.float16).astype(np.float32),
           {"dtype": "float16"})
    bf = torch.from_numpy(p).to(torch.bfloat16).to(torch.float32).numpy()
    yield ("bfloat16-rounding", "pack", "bfloat16 rounding of the tensor", bf, {"dtype": "bfloat16"})


def hyp_pad(ctx: Context) -> Iterator[Prediction]:
    if ctx.geo is None:
        return
    mask = ctx.pad_mask()
    if not mask.any():
        return
    own = ctx.preset.get("pad_value", 0)
    mean_colour = tuple(int(round(m * 255)) for m in ctx.mean)
    fills = {"black (0)": 0, "white (255)": 255, "grey (127)": 127, "grey (128)": 128,
             f"mean colour {mean_colour}": mean_colour}
    for label, fill in fills.items():
        if np.array_equal(np.broadcast_to(np.asarray(fill), (3,)), np.broadcast_to(np.asarray(own), (3,))):
            continue
        canvas = ctx.canvas.copy()
        canvas[mask] = np.asarray(fill, np.uint8)
        yield ("pad-colour", "pad", f"pad colour: {label} instead of {own}", ctx.render(canvas), {"fill": label})
    packed_mask = ctx.geo.from_canvas(np.repeat(mask[..., None], ctx.canvas.shape[2], axis=2))
    yield ("pad-colour", "pad", "pad after normalize with 0.0 (= the mean colour) instead of pixel "
           f"{own} before it", np.where(packed_mask, np.float32(0), ctx.pack), {"fill": "0.0 after normalize"})
    resized = ctx.ref["resize"].value
    own_pos = ctx.preset.get("pad_position", "bottom-right")
    for pos, words in (("center", "image centred"), ("top-left", "padding top/left (image bottom-right)"),
                       ("bottom-right", "padding bottom/right (image top-left)")):
        if pos != own_pos and isinstance(resized, np.ndarray):
            yield ("pad-position", "pad", f"pad position: {words} instead of {own_pos} padding",
                   ctx.render(ctx.place(resized, pos)), {"position": pos})


def hyp_resample(ctx: Context) -> Iterator[Prediction]:
    if ctx.geo is None:
        return
    size = ctx.resized_box()
    for name in resample_kernels():
        try:
            resized = resized_with(ctx, name, size)
        except Exception as e:  # a kernel that cannot take this size is not evidence either way
            yield ("resample-filter", "resize", f"resample filter {name}", None, {"error": str(e)})
            continue
        if resized.shape != ctx.ref["resize"].shape or np.array_equal(resized, ctx.ref["resize"].value):
            continue  # same pixels as the reference: no different prediction
        yield ("resample-filter", "resize", f"resample filter mismatch: {name}", ctx.render(ctx.place(resized)),
               {"kernel": name})


def hyp_target_size(ctx: Context) -> Iterator[Prediction]:
    if ctx.geo is None:
        return
    kname, kern = ctx_kernel(ctx)
    if kern is None:
        return
    h, w = ctx.resized_box()
    ch, cw, _ = ctx.canvas.shape
    for dh, dw in ((1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)):
        nh, nw = h + dh, w + dw
        if 0 < nh <= ch and 0 < nw <= cw:
            yield ("off-by-one-size", "resize", f"off-by-one target size: {nh}x{nw} (h x w) instead of {h}x{w}",
                   ctx.render(ctx.place(resized_with(ctx, kname, (nh, nw)))), {"size": [nh, nw], "kernel": kname})


def hyp_tile_order(ctx: Context) -> Iterator[Prediction]:
    p = ctx.pack
    if ctx.geo is None or ctx.geo.single or p.shape[0] < 2:
        return
    n = p.shape[0]
    obs = ctx.observed.reshape(p.shape) if ctx.observed.size == p.size else None
    if obs is None:
        return
    ref_keys = {p[i].astype(np.float32).tobytes(): i for i in range(n)}
    perm = [ref_keys.get(obs[i].astype(np.float32).tobytes()) for i in range(n)]
    rows, cols = ctx.geo.grid
    named = {"column-major": [r * cols + c for c in range(cols) for r in range(rows)],
             "reversed": list(range(n))[::-1],
             "overview/first tile moved last": list(range(1, n)) + [0],
             "last tile (overview) moved first": [n - 1] + list(range(n - 1))}
    if None not in perm and perm != list(range(n)):
        label = next((k for k, v in named.items() if v == perm), "permuted")
        yield ("tile-order", "tiles", f"tile order: {label} (observed tile i = reference tile perm[i])",
               p[perm], {"perm": perm, "order": label})
        return
    for label, order in named.items():
        if order != list(range(n)):
            yield ("tile-order", "tiles", f"tile order: {label}", p[order], {"perm": order, "order": label})


def hyp_decode(ctx: Context) -> Iterator[Prediction]:
    """Alpha policy and EXIF orientation: re-decode, re-run the reference impl on those pixels."""
    if ctx.image_path is None or ctx.impl is None:
        return
    from parity.decode import POLICIES, decode_pil
    from parity.impls.base import ImageInput

    note = ctx.ref["decode"].note.split()
    ref_policy = POLICIES.get(note[1] if len(note) > 1 else "")
    if ref_policy is None:
        return
    base = decode_pil(ctx.image_path, ref_policy)
    variants = []
    for pol in POLICIES.values():
        if pol.depth16 != ref_policy.depth16:
            continue
        if pol.exif == ref_policy.exif and pol.alpha != ref_policy.alpha:
            variants.append(("alpha-policy", f"alpha policy: {pol.alpha} instead of {ref_policy.alpha}", pol))
        if pol.exif != ref_policy.exif and pol.alpha == ref_policy.alpha and base.info.get("orientation", 1) != 1:
            what = "EXIF orientation ignored" if ref_policy.exif else "EXIF orientation applied"
            variants.append(("exif-orientation", f"{what} (tag {base.info['orientation']})", pol))
    for name, title, pol in variants:
        alt = decode_pil(ctx.image_path, pol)
        if alt.rgb.shape == base.rgb.shape and np.array_equal(alt.rgb, base.rgb):
            continue
        trace = ctx.impl.run(ImageInput(ctx.image_path, injected=alt.rgb), ctx.preset)
        yield (name, "decode", title, np.asarray(trace["pack"].value), {"policy": pol.name})


#: in order of preference when two hypotheses explain the observation equally well
HYPOTHESES: tuple[Callable[[Context], Iterator[Prediction]], ...] = (
    hyp_layout, hyp_channel_order, hyp_normalization, hyp_dtype_rounding, hyp_normalize_arithmetic, hyp_tile_order, hyp_decode,
    hyp_wh_swap, hyp_pad, hyp_resample, hyp_target_size,
)


# ---------------------------------------------------------------------------------------------------
# Helpers shared by hypotheses


def ctx_decoded(ctx: Context) -> np.ndarray:
    return ctx.ref["decode"].value


def ctx_kernel(ctx: Context) -> tuple[str, Callable | None]:
    """The candidate kernel that reproduces the reference's own resize stage exactly (first found), so
    size hypotheses use the reference's filter; cached on the context."""
    cached = getattr(ctx, "_kernel", None)
    if cached is not None:
        return cached
    target = ctx.ref["resize"].value
    found: tuple[str, Callable | None] = ("", None)
    for name, kern in resample_kernels().items():
        try:
            if np.array_equal(resized_with(ctx, name, target.shape[:2]), target):
                found = (name, kern)
                break
        except Exception:
            continue
    ctx._kernel = found  # type: ignore[attr-defined]
    return found


def score(pred: np.ndarray, observed: np.ndarray, std: np.ndarray) -> dict:
    """Residual of a prediction against the observed flat tensor (levels with the mean std)."""
    p = np.asarray(pred, np.float64).ravel()
    d = np.abs(p - observed)
    sig = float(np.sum(observed * observed)) or 1.0
    return {"nmse": float(np.sum(d * d) / sig), "max_levels": float(d.max(initial=0.0) * 255 * float(np.mean(std))),
            "n_diff": int(np.count_nonzero(d)), "n": int(d.size)}


def tier(res: dict, base: dict) -> str | None:
    if res["n_diff"] == 0:
        return "exact"
    if base["nmse"] <= 0:
        return None
    ratio = res["nmse"] / base["nmse"]
    if ratio <= CLOSE_NMSE_RATIO and res["max_levels"] <= CLOSE_MAX_LEVELS:
        return "close"
    if ratio <= PARTIAL_NMSE_RATIO:
        return "partial"
    return None


def _evidence(t: str, res: dict, base: dict, ref: str) -> str:
    if t == "exact":
        return f"reproduces the observed tensor bit for bit ({res['n']} elements); {ref} unchanged differs at " \
               f"{base['n_diff']} (max {base['max_levels']:.3g} uint8 levels)"
    return (f"residual NMSE {res['nmse']:.3g} vs {base['nmse']:.3g} for {ref} unchanged; max |Δ| "
            f"{res['max_levels']:.3g} vs {base['max_levels']:.3g} uint8 levels; {res['n_diff']} vs "
            f"{base['n_diff']} differing elements")


def affine_fit(ctx: Context) -> dict | None:
    """Per-channel least squares observed = a·(v/255) + b over the reference canvas values v: the
    mean/std the observed tensor implies (mean = -b/a, std = 1/a) and the nearest known set."""
    if ctx.src_u8 is None or ctx.observed.size != ctx.pack.size:
        return None
    cax = _channel_axis(ctx)
    x = np.moveaxis(_canvas_pack(ctx) * ctx.rescale, cax, 0).reshape(len(ctx.mean), -1)
    y = np.moveaxis(ctx.observed.reshape(ctx.pack.shape), cax, 0).reshape(len(ctx.mean), -1)
    fits = []
    for xc, yc in zip(x, y):
        A = np.stack([xc, np.ones_like(xc)], 1)
        (a, b), *_ = np.linalg.lstsq(A, yc, rcond=None)
        resid = float(np.sqrt(np.mean((A @ np.array([a, b]) - yc) ** 2)))
        fits.append((float(a), float(b), resid))
    a = np.array([f[0] for f in fits])
    out = {"slope": a.tolist(), "intercept": [f[1] for f in fits], "rms_residual": [f[2] for f in fits]}
    if np.all(np.abs(a) > 1e-9):
        mean, std = (-np.array(out["intercept"]) / a), 1 / a
        out["mean"], out["std"] = mean.tolist(), std.tolist()
        dist = {k: float(np.max(np.abs(np.r_[mean - m, std - s]))) for k, (m, s) in KNOWN_NORMALIZATIONS.items()}
        best = min(dist, key=dist.get)
        out["nearest_known"] = {"name": best, "max_abs_difference": dist[best]}
    return out


def localize(ctx: Context) -> dict | None:
    """Where the observed tensor leaves the reference, from the uint8 canvas it implies: each element
    mapped back through the reference's table to the nearest uint8 value."""
    if ctx.src_u8 is None or ctx.observed.size != ctx.pack.size:
        return None
    cax = _channel_axis(ctx)
    obs = ctx.observed.reshape(ctx.pack.shape)
    implied = np.empty(obs.shape, np.uint8)
    for c in range(ctx.norm.lut.shape[0]):
        lut = ctx.norm.lut[c].astype(np.float64)
        order = np.argsort(lut)
        v = np.take(obs, c, axis=cax)
        pos = np.clip(np.searchsorted(lut[order], v), 1, 255)
        lo, hi = order[pos - 1], order[pos]
        pick = np.where(np.abs(v - lut[lo]) <= np.abs(v - lut[hi]), lo, hi)
        idx = [slice(None)] * obs.ndim
        idx[cax] = c
        implied[tuple(idx)] = pick
    rerender = ctx.norm.apply(implied, cax).astype(np.float64)
    step = float(np.min(ctx.std)) ** -1 / 255  # one uint8 level in normalized units (smallest)
    off_grid = float(np.max(np.abs(rerender - obs)))
    ref_canvas = ctx.src_u8
    differ = implied != ref_canvas
    if off_grid > 0.5 * step:
        return {"stage": "normalize", "evidence": f"values are not on this preset's normalization grid (off by up "
                f"to {off_grid / step:.2f} uint8 levels): the scaling/mean/std or layout differs"}
    if not differ.any():
        n = int(np.count_nonzero(rerender != obs))
        return {"stage": "normalize", "evidence": f"same uint8 canvas as the reference; {n} elements differ by "
                f"float arithmetic only (max |Δ| {np.max(np.abs(ctx.pack - obs)):.3g}): normalize/rescale "
                "computed differently (order, precision or fusion)"}
    arith = "bit-identical arithmetic" if np.array_equal(rerender, obs) else "plus float arithmetic differences"
    if ctx.geo is None:
        return {"stage": ctx.src_stage, "evidence": f"the implied uint8 values differ from the reference's "
                f"{ctx.src_stage} at {int(np.count_nonzero(differ))} elements; {arith}: {ctx.src_stage} or earlier"}
    mask = ctx.geo.from_canvas(np.repeat(ctx.pad_mask()[..., None], ctx.canvas.shape[2], axis=2))
    in_pad, in_img = int(np.count_nonzero(differ & mask)), int(np.count_nonzero(differ & ~mask))
    if in_img == 0:
        return {"stage": "pad", "evidence": f"the implied uint8 canvas differs only in the padding ({in_pad} "
                f"values); {arith}"}
    lv = np.abs(implied.astype(np.int16) - ref_canvas)[differ]
    return {"stage": "resize", "evidence": f"the implied uint8 canvas differs inside the image at {in_img} values "
            f"(|Δ| up to {int(lv.max())} levels, {int(np.count_nonzero(lv == 1))} by 1 level) and in the padding at "
            f"{in_pad}; {arith}: resize (or decode, when decode differs)"}


# ---------------------------------------------------------------------------------------------------


#: hypotheses that only transform the reference pack or canvas (no resize or re-run): fast
QUICK_HYPOTHESES = (hyp_layout, hyp_channel_order, hyp_normalization, hyp_dtype_rounding, hyp_normalize_arithmetic,
                    hyp_tile_order)


def diagnose(observed: np.ndarray, ref: Trace, preset: Any, image_path: str | None = None,
             impl: Any = None, hypotheses: tuple | None = None) -> Diagnosis:
    """Rank the causes that explain ``observed`` (a pack-sized tensor, any shape; compared in flat
    C order like inp_raw bytes) against the reference trace ``ref``; see the module docstring.
    ``hypotheses``: a subset of HYPOTHESES to try (default all)."""
    ctx = make_context(ref, observed, preset, image_path, impl)
    pack = ctx.pack
    if ctx.observed.size != pack.size:
        base = {"nmse": None, "max_levels": None, "n_diff": int(ctx.observed.size), "n": int(pack.size)}
        return Diagnosis(ref.impl, base, (), (), {"all": f"{ctx.observed.size} elements observed, the reference "
                                                         f"pack has {pack.size}"})
    base = score(pack, ctx.observed, ctx.std)
    if base["n_diff"] == 0:
        return Diagnosis(ref.impl, base, (), (), {})
    best: dict[tuple, Cause] = {}
    checked: list[str] = []
    skipped: dict[str, str] = {}
    if ctx.geo is None:
        skipped["canvas-level hypotheses"] = ctx.why_no_canvas
    for rank, hyp in enumerate(HYPOTHESES):
        if hypotheses is not None and hyp not in hypotheses:
            continue
        if any(c.match == "exact" for c in best.values()):
            # nothing later can rank above an exact explanation (ties go to the earlier hypothesis)
            skipped[hyp.__name__] = "not needed: an earlier hypothesis reproduces the tensor exactly"
            continue
        for name, stage, title, pred, detail in hyp(ctx):
            label = f"{name}: {title}"
            if pred is None:
                skipped[label] = detail.get("error", "no prediction")
                continue
            checked.append(label)
            if np.asarray(pred).size != ctx.observed.size:
                continue
            res = score(pred, ctx.observed, ctx.std)
            t = tier(res, base)
            if t is None:
                continue
            cause = Cause(name, stage, title, _evidence(t, res, base, ref.impl), t, res["nmse"], res["max_levels"],
                          res["n_diff"], detail)
            key = (name,)
            order = (TIERS.index(t), res["nmse"], rank)
            if key not in best or order < best[key].detail.get("_order", (9,)):
                best[key] = Cause(**{**cause.__dict__, "detail": {**detail, "_order": order}})
    causes = sorted(best.values(), key=lambda c: c.detail["_order"])
    causes = [Cause(**{**c.__dict__, "detail": {k: v for k, v in c.detail.items() if k != "_order"}}) for c in causes]
    causes = _attach_fit(ctx, causes)
    _name_equivalent_kernels(ctx, causes)
    return Diagnosis(ref.impl, base, tuple(causes), tuple(checked), skipped, localize(ctx))


def _attach_fit(ctx: Context, causes: list[Cause]) -> list[Cause]:
    """Add the per-channel affine fit to normalization causes; claim a fitted mean/std when the fit is
    near perfect, differs from the preset and no other cause explains the tensor."""
    fit = affine_fit(ctx)
    if fit is None:
        return causes
    out = []
    for c in causes:
        if c.stage == "normalize":
            c = Cause(**{**c.__dict__, "detail": {**c.detail, "affine_fit": fit}})
        out.append(c)
    if out or "mean" not in fit or np.allclose(fit["mean"], ctx.mean, atol=2e-3):
        return out
    # no named cause: predict with the fitted constants and score that like any hypothesis
    mean, std = np.asarray(fit["mean"]), np.asarray(fit["std"])
    pred = ((_canvas_pack(ctx) * ctx.rescale - _per_channel(ctx, mean)) / _per_channel(ctx, std)).astype(np.float32)
    base = score(ctx.pack, ctx.observed, ctx.std)
    res = score(pred, ctx.observed, ctx.std)
    t = tier(res, base)
    if t is None:
        return out
    near = fit["nearest_known"]
    known = (f"close to {near['name']} (max diff {near['max_abs_difference']:.2g})"
             if near["max_abs_difference"] < 2e-3 else "no known constant set")
    title = (f"wrong mean/std: fitted mean {np.round(mean, 5).tolist()}, std {np.round(std, 5).tolist()} "
             f"({known})")
    evidence = f"{_evidence(t, res, base, ctx.ref.impl)}; affine fit residual RMS {max(fit['rms_residual']):.3g}"
    out.append(Cause("wrong-mean-std", "normalize", title, evidence, t, res["nmse"], res["max_levels"],
                     res["n_diff"], {"affine_fit": fit, "constants": "fitted"}))
    return out


def _name_equivalent_kernels(ctx: Context, causes: list[Cause]) -> None:
    """For a resample-filter cause, list every kernel giving the same resized pixels as the winning
    one on this image (they are indistinguishable here; more images would separate them)."""
    for c in causes:
        if c.name != "resample-filter":
            continue
        size = ctx.resized_box()
        winner = resized_with(ctx, c.detail["kernel"], size)
        same = []
        for name in resample_kernels():
            try:
                if np.array_equal(resized_with(ctx, name, size), winner):
                    same.append(name)
            except Exception:
                continue
        c.detail["equivalent_kernels"] = same


#: EXIF orientation tag -> the transform PIL's ImageOps.exif_transpose applies to an (H, W, C) array
#: (checked against Pillow for every tag in tests/test_diagnose.py)
EXIF_TRANSFORMS: dict[int, Callable[[np.ndarray], np.ndarray]] = {
    2: lambda x: x[:, ::-1], 3: lambda x: x[::-1, ::-1], 4: lambda x: x[::-1],
    5: lambda x: np.swapaxes(x, 0, 1), 6: lambda x: np.rot90(x, -1), 7: lambda x: np.swapaxes(x, 0, 1)[::-1, ::-1],
    8: lambda x: np.rot90(x, 1),
}


def diagnose_decode(a: np.ndarray, b: np.ndarray, image_path: str | None = None) -> list[Cause]:
    """Why decoded pixels ``b`` differ from ``a`` (both (H, W, 3) uint8): orientation (an EXIF
    transform either way), channel order, alpha policy (re-decoding ``image_path``), else small
    decoder arithmetic differences. Exact checks only, except the last (``partial``)."""
    causes: list[Cause] = []

    def exact(name: str, title: str, detail: dict) -> None:
        causes.append(Cause(name, "decode", title, f"reproduces the decoded pixels exactly ({b.size} values)",
                            "exact", 0.0, 0.0, 0, detail))

    # a transform one way is the inverse transform the other way: try the file's own tag first
    tags = list(EXIF_TRANSFORMS)
    if image_path is not None:
        from parity.decode import exif_orientation, open_pil, read_bytes

        try:
            own = exif_orientation(open_pil(read_bytes(image_path), image_path))
        except Exception:
            own = 1
        tags = sorted(tags, key=lambda t: t != own)
    for first, second, direction in ((a, b, "impl"), (b, a, "baseline")):
        found = next((t for t in tags if EXIF_TRANSFORMS[t](first).shape == second.shape
                      and np.array_equal(EXIF_TRANSFORMS[t](first), second)), None)
        if found is not None:
            other = "baseline" if direction == "impl" else "impl"
            exact("exif-orientation", f"EXIF orientation: the {direction} applied the transform of tag {found}, "
                  f"the {other} did not", {"orientation": found, "direction": f"applied by the {direction}"})
            break
    if a.shape == b.shape and np.array_equal(a[..., ::-1], b):
        exact("rgb-vs-bgr", "RGB vs BGR: decoded channels in reverse order", {"variant": "decode"})
    if image_path is not None and not causes:
        from parity.decode import POLICIES, decode_pil

        for pol in POLICIES.values():
            try:
                alt = decode_pil(image_path, pol).rgb
            except Exception:
                continue
            if alt.shape == b.shape and np.array_equal(alt, b) and not np.array_equal(alt, a):
                label = "alpha-policy" if pol.alpha != "white" or not pol.exif else "exif-orientation"
                exact(label, f"decoded as policy {pol.name}: {pol.description}", {"policy": pol.name})
                break
    if not causes and a.shape == b.shape:
        d = np.abs(a.astype(np.int16) - b)
        if 0 < int(d.max()) <= 8:
            frac = float(np.count_nonzero(d)) / d.size
            causes.append(Cause("decoder-arithmetic", "decode", "decoder arithmetic (e.g. another JPEG IDCT or "
                                "chroma upsampling)", f"same size; {frac:.1%} of values differ, by at most "
                                f"{int(d.max())} levels (mean {float(d.mean()):.3f})", "partial",
                                0.0, float(d.max()), int(np.count_nonzero(d)), {"max_levels": int(d.max())}))
    return causes


def diagnose_traces(a: Trace, b: Trace, preset: Any, image_path: str | None = None, impl: Any = None) -> Diagnosis:
    """Diagnose trace ``b`` against baseline trace ``a``: the decode stage first (when both have it
    and it differs), then ``b``'s pack against ``a`` (``impl`` = a's impl, for decode re-runs)."""
    pack = b["pack"].value
    obs = np.concatenate([np.asarray(x).ravel() for x in pack]) if isinstance(pack, tuple) else np.asarray(pack)
    d = diagnose(obs, a, preset, image_path, impl)
    ra, rb = a.get("decode"), b.get("decode")
    if ra is None or rb is None or ra.sha256 == rb.sha256:
        return d
    decode_causes = diagnose_decode(ra.value, rb.value, image_path)
    return Diagnosis(d.reference, d.baseline, tuple(decode_causes) + d.causes, d.checked, d.skipped, d.localized)


def render_diagnosis_text(d: Diagnosis, cap: int = 5) -> str:
    lines = []
    if d.baseline["n_diff"] == 0:
        return f"no difference from {d.reference}: nothing to diagnose"
    if not d.causes:
        lines.append(f"likely cause: unknown ({len(d.checked)} hypotheses checked against {d.reference}, none "
                     "explains the difference)")
    for i, c in enumerate(d.causes[:cap], 1):
        lines.append(f"{i}. [{c.match}] {c.title} (stage {c.stage})")
        lines.append(f"   evidence: {c.evidence}")
        if "equivalent_kernels" in c.detail:
            lines.append(f"   kernels giving the same pixels on this image: {', '.join(c.detail['equivalent_kernels'])}")
        fit = c.detail.get("affine_fit")
        if fit and "mean" in fit:
            near = fit["nearest_known"]
            named = (f"= {near['name']}" if near["max_abs_difference"] < 2e-3 else
                     f"no known set (nearest {near['name']}, off by {near['max_abs_difference']:.3g})")
            lines.append(f"   affine fit: mean {np.round(fit['mean'], 5).tolist()}, std "
                         f"{np.round(fit['std'], 5).tolist()} {named}")
    if len(d.causes) > cap:
        lines.append(f"   ... {len(d.causes) - cap} more (see --json)")
    if d.localized and not (d.top is not None and d.top.match == "exact"):
        lines.append(f"localized to {d.localized['stage']}: {d.localized['evidence']}")
    return "\n".join(lines)
