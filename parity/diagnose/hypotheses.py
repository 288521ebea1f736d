"""The hypotheses: each predicts the tensor the reference pipeline would have produced with ONE mistake.

A hypothesis is a generator over a ``Context``: it yields ``(name, stage, title, prediction, detail)``
for each variant of its mistake (``prediction`` None, with ``detail["error"]``, when it cannot be
built); parity.diagnose scores every prediction against the observed tensor. Predictions are built
from the reference trace itself, so they carry its exact arithmetic:

- pack level (``hyp_layout``, ``hyp_channel_order``, ``hyp_dtype_rounding``, ``hyp_tile_order``,
  ``hyp_wh_swap``): transform the reference ``pack``;
- normalize level (``hyp_normalization``, ``hyp_normalize_arithmetic``): recompute the pack from the
  uint8 values behind it with other constants or other float arithmetic;
- canvas level (``hyp_pad``, ``hyp_resample``, ``hyp_target_size``, the resize variant of
  ``hyp_wh_swap``): rebuild the uint8 ``pad`` canvas (another resize kernel from
  parity.kernels.registry, pad colour, pad position, target size) and map it through the reference's
  own uint8 -> float table (``Context.render``);
- decode level (``hyp_decode``: alpha policy, EXIF orientation): re-decode the file and re-run the
  reference impl on those pixels (``ImageInput(path, injected=...)``).

``HYPOTHESES`` is also the order of preference when two explain the tensor equally well;
``QUICK_HYPOTHESES`` only transform the reference pack or canvas (no resize, no re-run).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
import torch

from parity.compare import layout_axes
from parity.decode import POLICIES, decode_pil
from parity.diagnose.context import Context, reference_kernel, resized_with
from parity.impls.base import ImageInput
from parity.kernels.registry import NO_ANTIALIAS, RESAMPLE_KERNELS

#: mean/std sets a port may have used instead of the checkpoint's (name -> (mean, std))
KNOWN_NORMALIZATIONS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "CLIP (OpenAI)": ((0.48145466, 0.4578275, 0.40821073), (0.26862954, 0.26130258, 0.27577711)),
    "ImageNet default": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
    "ImageNet standard 0.5": ((0.5, 0.5, 0.5), (0.5, 0.5, 0.5)),
}

#: (name, stage, title, prediction or None, detail)
Prediction = tuple[str, str, str, np.ndarray | None, dict]


def hyp_layout(ctx: Context) -> Iterator[Prediction]:
    p, cax = ctx.pack, ctx.channel_axis
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
        kname, kern = reference_kernel(ctx)
        if kern is not None:
            resized = resized_with(ctx, kname, (w, h))
            yield ("width-height-swap", "resize", f"width/height swapped in the resize target: {w}x{h} (h x w) "
                   f"instead of {h}x{w}", ctx.render(ctx.place(resized)), {"variant": "target swapped",
                                                                            "kernel": kname})


def hyp_channel_order(ctx: Context) -> Iterator[Prediction]:
    cax = ctx.channel_axis
    if cax >= 0:
        yield ("rgb-vs-bgr", "pack", "RGB vs BGR: the channel planes are in reverse order",
               np.flip(ctx.pack, axis=cax), {"variant": "output planes reversed"})
    if ctx.src_u8 is not None:
        yield ("rgb-vs-bgr", "decode", "RGB vs BGR: pixels read as BGR (e.g. OpenCV imread), then normalized "
               "with RGB mean/std", ctx.norm.apply(np.flip(ctx.src_u8, axis=cax), cax), {"variant": "input read as BGR"})


def hyp_normalization(ctx: Context) -> Iterator[Prediction]:
    if ctx.src_u8 is None:
        return
    x = ctx.source_values()
    m, s = ctx.per_channel(ctx.mean), ctx.per_channel(ctx.std)
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
        mm, ss = ctx.per_channel(np.asarray(mean)), ctx.per_channel(np.asarray(std))
        yield ("wrong-mean-std", "normalize", f"wrong mean/std: {name} constants instead of the preset's",
               ((x * ctx.rescale - mm) / ss).astype(f32), {"constants": name, "mean": list(mean),
                                                           "std": list(std)})


def hyp_normalize_arithmetic(ctx: Context) -> Iterator[Prediction]:
    """Same constants, other float arithmetic: what a different impl of rescale+normalize leaves."""
    if ctx.src_u8 is None:
        return
    x = ctx.source_values().astype(np.float32)
    f = np.float32
    m, s = ctx.per_channel(ctx.mean.astype(f)), ctx.per_channel(ctx.std.astype(f))
    r = f(ctx.rescale)
    variants = {
        "float32: v*rescale, then (x - mean)/std": (x * r - m) / s,
        # transformers' torchvision backend: mean and std scaled by 1/rescale in float32, one normalize
        "float32 fused: (v - mean*(1/rescale))/(std*(1/rescale))": (x - m * f(1 / ctx.rescale)) / (s * f(1 / ctx.rescale)),
        "float32: v/255, then (x - mean)/std": (x / f(255) - m) / s,
        "float32: (x - mean) * (1/std)": (x * r - m) * (f(1) / s),
        "float64, cast to float32": ((x.astype(np.float64) * ctx.rescale - ctx.per_channel(ctx.mean))
                                     / ctx.per_channel(ctx.std)).astype(f),
    }
    for label, pred in variants.items():
        yield ("normalize-arithmetic", "normalize", f"same constants, other float arithmetic: {label}",
               pred.astype(f), {"arithmetic": label})


def hyp_dtype_rounding(ctx: Context) -> Iterator[Prediction]:
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
    """Another registered kernel at the reference's size; on a downscale, a kernel without antialiasing
    where the reference's own kernel antialiases is reported as "no antialias on downscale"."""
    if ctx.geo is None:
        return
    size = ctx.resized_box()
    in_h, in_w = ctx.decoded.shape[:2]
    downscale = size[0] < in_h or size[1] < in_w
    own = reference_kernel(ctx)[0]
    for name in RESAMPLE_KERNELS:
        try:
            resized = resized_with(ctx, name, size)
        except Exception as e:  # a kernel that cannot take this size is not evidence either way
            yield ("resample-filter", "resize", f"resample filter {name}", None, {"error": str(e)})
            continue
        if resized.shape != ctx.ref["resize"].shape or np.array_equal(resized, ctx.ref["resize"].value):
            continue  # same pixels as the reference: no different prediction
        if downscale and name in NO_ANTIALIAS and own and own not in NO_ANTIALIAS:
            yield ("no-antialias", "resize", f"no antialias on downscale: {name} where the baseline uses {own}",
                   ctx.render(ctx.place(resized)), {"kernel": name, "baseline_kernel": own})
            continue
        yield ("resample-filter", "resize", f"resample filter mismatch: {name}", ctx.render(ctx.place(resized)),
               {"kernel": name})


def hyp_target_size(ctx: Context) -> Iterator[Prediction]:
    if ctx.geo is None:
        return
    kname, kern = reference_kernel(ctx)
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
    """The pack's tiles in another order. The observed tiles are looked up among the reference's (an
    exact permutation is named, or called "permuted"); otherwise the usual mistakes are predicted:
    column-major (needs the canvas grid), reversed, the first or last (overview) tile moved."""
    p = ctx.pack
    tiled = ctx.geo is not None and not ctx.geo.single
    if not tiled and (p.ndim != 4 or layout_axes(ctx.ref["pack"].layout)[-3:] != ["C", "H", "W"]):
        return  # no tile axis (a plain tile stack without the canvas map has one too)
    n = p.shape[0]
    if n < 2 or ctx.observed.size != p.size:
        return
    obs = ctx.observed.reshape(p.shape)
    ref_keys = {p[i].astype(np.float32).tobytes(): i for i in range(n)}
    perm = [ref_keys.get(obs[i].astype(np.float32).tobytes()) for i in range(n)]
    named = {}
    if tiled:
        rows, cols = ctx.geo.grid
        named["column-major"] = [r * cols + c for c in range(cols) for r in range(rows)]
    named.update({"reversed": list(range(n))[::-1],
                  "overview/first tile moved last": list(range(1, n)) + [0],
                  "last tile (overview) moved first": [n - 1] + list(range(n - 1))})
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
    hyp_layout, hyp_channel_order, hyp_normalization, hyp_dtype_rounding, hyp_normalize_arithmetic, hyp_tile_order,
    hyp_decode, hyp_wh_swap, hyp_pad, hyp_resample, hyp_target_size,
)
#: hypotheses that only transform the reference pack or canvas (no resize or re-run): fast
QUICK_HYPOTHESES = (hyp_layout, hyp_channel_order, hyp_normalization, hyp_dtype_rounding, hyp_normalize_arithmetic,
                    hyp_tile_order)
