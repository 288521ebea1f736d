"""What every hypothesis reads: the reference trace, the observed tensor, and what follows from them.

- the canvas -> pack map (``PackGeometry``, from parity.compare) and the uint8 value behind every pack
  element (``src_u8``: the ``pad`` canvas cut into tiles, or an aligned uint8 stage);
- the reference's own uint8 -> float table per channel (``Normalizer``), read off those values and the
  reference pack, so a rebuilt canvas is normalized with the reference's exact arithmetic (checked
  bit for bit on the reference, not assumed);
- the reference's decoded pixels resized by any registered kernel (``resized_with``, cached), and the
  kernel that reproduces the reference's own resize (``reference_kernel``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from parity.compare import PackGeometry, aligned_uint8, layout_axes, pack_geometry
from parity.kernels.registry import RESAMPLE_KERNELS, Kernel
from parity.trace import Trace

#: canvas offset of the resized image for each pad position (ch, cw: canvas; h, w: image)
PAD_OFFSETS = {"bottom-right": lambda ch, cw, h, w: (0, 0), "top-left": lambda ch, cw, h, w: (ch - h, cw - w),
               "center": lambda ch, cw, h, w: ((ch - h) // 2, (cw - w) // 2)}


@dataclass(frozen=True)
class Normalizer:
    """The reference's own uint8 -> float map per channel (a 256-entry table), read off pad -> pack."""

    lut: np.ndarray  # (C, 256) float32
    exact: bool  # the table reproduces the reference pack bit for bit

    def apply(self, canvas_pack: np.ndarray, cax: int) -> np.ndarray:
        """uint8 values in pack layout (channel axis ``cax``) -> float32 pack."""
        idx = [slice(None)] * canvas_pack.ndim
        out = np.empty(canvas_pack.shape, np.float32)
        for c in range(canvas_pack.shape[cax]):  # one table lookup per channel plane
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
    kernel: tuple[str, Kernel | None] | None = None  # reference_kernel's answer, once found
    canvas_stage: str = "pad"  # the stage the pack is cut from: pad, or resize when nothing is padded

    @property
    def pack(self) -> np.ndarray:
        """The reference pack; a ragged one as its parts concatenated flat (inp_raw order)."""
        v = self.ref["pack"].value
        return np.concatenate([np.asarray(x).ravel() for x in v]) if isinstance(v, tuple) else np.asarray(v)

    @property
    def canvas(self) -> np.ndarray:
        return self.ref[self.canvas_stage].value

    @property
    def decoded(self) -> np.ndarray:
        return self.ref["decode"].value

    @property
    def channel_axis(self) -> int:
        """The pack's channel axis from its layout label; -1 when there is none (or the pack is ragged)."""
        rec = self.ref["pack"]
        axes = layout_axes(rec.layout)
        if rec.kind != "array" or len(axes) != len(rec.shape) or "C" not in axes:
            return -1
        return axes.index("C")

    def per_channel(self, v: np.ndarray) -> np.ndarray:
        """A per-channel vector shaped to broadcast along the pack's channel axis."""
        shape = [1] * self.pack.ndim
        shape[self.channel_axis] = len(v)
        return v.reshape(shape)

    def source_values(self) -> np.ndarray:
        """The uint8 value behind every pack element, as float64."""
        return self.src_u8.astype(np.float64)

    def render(self, canvas: np.ndarray) -> np.ndarray:
        """A uint8 canvas through the reference's tiling and normalization."""
        return self.norm.apply(self.geo.from_canvas(canvas), self.channel_axis)

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
        y0, x0 = PAD_OFFSETS[position](ch, cw, h, w)
        out[y0:y0 + h, x0:x0 + w] = resized
        return out

    def pad_mask(self) -> np.ndarray:
        """True where the reference canvas is padding (outside the resized image)."""
        h, w = self.resized_box()
        ch, cw, _ = self.canvas.shape
        mask = np.ones((ch, cw), bool)
        pos = self.preset.get("pad_position", "bottom-right")
        y0, x0 = PAD_OFFSETS[pos](ch, cw, h, w) if pos in PAD_OFFSETS else (0, 0)
        mask[y0:y0 + h, x0:x0 + w] = False
        return mask


def make_context(ref: Trace, observed: np.ndarray, preset: Any, image_path: str | None = None,
                 impl: Any = None) -> Context:
    mean = np.asarray(preset.get("image_mean", (0.0, 0.0, 0.0)), np.float64)
    std = np.asarray(preset.get("image_std", (1.0, 1.0, 1.0)), np.float64)
    ctx = Context(ref, preset, image_path, impl, np.asarray(observed, np.float64).ravel(), mean, std,
                  float(preset.get("rescale_factor", 1 / 255)))
    geo, why = pack_geometry(ref)
    if geo is None and ref.get("pad") is None and ref.get("resize") is not None:
        # no pad stage (e.g. Gemma 3: the resized image is the canvas): map the pack from the resize stage
        geo, _ = pack_geometry(ref, "resize")
        if geo is not None:
            ctx.canvas_stage = "resize"
    pack, cax = np.asarray(ref["pack"].value) if ref["pack"].kind == "array" else None, ctx.channel_axis
    if pack is None or cax < 0 or pack.shape[cax] != len(mean):
        ctx.why_no_source = "the reference pack has no channel axis matching the preset's mean/std"
        ctx.why_no_canvas = why or ctx.why_no_source
        return ctx
    if geo is not None:
        ctx.src_u8, ctx.src_stage = geo.from_canvas(ctx.canvas), ctx.canvas_stage
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
        cache[(name, tuple(size))] = RESAMPLE_KERNELS[name](ctx.decoded, tuple(size))
    return cache[(name, tuple(size))]


def reference_kernel(ctx: Context) -> tuple[str, Kernel | None]:
    """The registered kernel that reproduces the reference's own resize stage exactly (first found), so
    size hypotheses use the reference's filter; ("", None) when none does. Remembered on the context."""
    if ctx.kernel is not None:
        return ctx.kernel
    target = ctx.ref["resize"].value
    found: tuple[str, Kernel | None] = ("", None)
    for name, kern in RESAMPLE_KERNELS.items():
        try:
            if np.array_equal(resized_with(ctx, name, target.shape[:2]), target):
                found = (name, kern)
                break
        except Exception:  # a kernel that cannot take this size is simply not the reference's
            continue
    ctx.kernel = found
    return found
