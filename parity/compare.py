"""Compare two traces stage by stage, aligned by stage name (never by position).

Shape and dtype first; then ``plan`` (and other dicts) by an exact key-by-key diff; uint8 and integer
arrays exactly, with a histogram of level differences; float arrays with max/mean |Δ|, the same in
uint8 levels (|Δ|·255·std, std from the preset), NMSE, PSNR and cosine similarity. The first stage that
differs is the divergence; later differing stages are reported as its consequences. Elements are
located by the layout label (``tile 2, channel 0, y 17, x 300``); plans keep both whole decisions.

Pure: traces and records in, diffs out. Also here, because the pack diff needs it to separate what
normalize/pack does on its own from what it inherits: which uint8 pixel every ``pack`` element was
normalized from (``pack_source_u8``: the ``pad`` canvas cut into the pack's tiles, or an aligned uint8
stage). Running impls and external dumps (``parity compare``) are in parity.external.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.trace import StageRecord, Trace

#: a cap on listings (mismatching plan keys, histogram bins) so output stays readable
LIST_CAP = 20


@dataclass(frozen=True)
class StageDiff:
    """How one stage of trace ``b`` differs from the same-named stage of trace ``a``."""

    name: str
    status: str  # equal | differ | shape | incomparable | missing
    kind: str  # plan | array | ragged | missing
    dtype_a: str = ""
    dtype_b: str = ""
    shape_a: Any = ()
    shape_b: Any = ()
    n_diff: int = 0
    n: int = 0
    max_abs: float = 0.0
    mean_abs: float = 0.0
    max_levels: float = 0.0  # max |Δ| in uint8 levels
    mean_levels: float = 0.0
    nmse: float = 0.0
    psnr_db: float | None = None  # None when identical
    cosine: float | None = None
    first_index: tuple | None = None  # first differing element (C order), in stage-array coordinates
    worst_index: tuple | None = None
    worst_values: tuple | None = None  # (a, b) at worst_index
    histogram: dict[int, int] = field(default_factory=dict)  # |Δ| in levels (rounded) -> count; see hist_label
    plan_diff: dict[str, Any] = field(default_factory=dict)  # key -> {"a":..., "b":...}
    note: str = ""
    first_at: dict | None = None  # first_index named by the layout label: {tile, channel, y, x ...}
    worst_at: dict | None = None  # worst_index named the same way
    plan_a: dict | None = None  # both plan decisions, whole (plan stages only)
    plan_b: dict | None = None
    layout: str = ""  # layout label of the baseline stage
    isolated: dict | None = None  # pack only: the differences left where both had the same input pixels

    @property
    def passed(self) -> bool:
        return self.status == "equal"

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        d = {
            "name": self.name,
            "status": self.status,
            "passed": self.passed,
            "kind": self.kind,
            "dtype": [self.dtype_a, self.dtype_b],
            "shape": [_jsonable(self.shape_a), _jsonable(self.shape_b)],
        }
        if self.kind == "plan":
            d["plan_diff"] = self.plan_diff
            d["plan"] = {"a": self.plan_a, "b": self.plan_b}
        elif self.status != "missing":
            d.update({
                "n_diff": self.n_diff,
                "n": self.n,
                "max_abs": self.max_abs,
                "mean_abs": self.mean_abs,
                "max_levels": self.max_levels,
                "mean_levels": self.mean_levels,
                "nmse": self.nmse if math.isfinite(self.nmse) else None,  # inf when the baseline is all zeros
                "psnr_db": self.psnr_db,
                "cosine": self.cosine,
                "first_index": _jsonable(self.first_index),
                "worst_index": _jsonable(self.worst_index),
                "worst_values": _jsonable(self.worst_values),
                "first_at": self.first_at,
                "worst_at": self.worst_at,
                "worst_location": format_location(self.worst_at) if self.worst_at else None,
                "histogram_levels": {hist_label(k, self.histogram): v for k, v in self.histogram.items()},
            })
            if self.layout:
                d["layout"] = self.layout
            if self.isolated is not None:
                d["given_same_input"] = self.isolated
        if self.note:
            d["note"] = self.note
        return d


@dataclass(frozen=True)
class TraceDiff:
    """All stage diffs of trace ``b`` against baseline ``a``."""

    a: str
    b: str
    stages: tuple[StageDiff, ...]

    @property
    def compared(self) -> list[StageDiff]:
        """Stages both traces have at the same pipeline position (same layout and value kind)."""
        return [s for s in self.stages if s.status not in ("missing", "incomparable")]

    @property
    def first_divergence(self) -> StageDiff | None:
        return next((s for s in self.compared if not s.passed), None)

    @property
    def consequences(self) -> list[str]:
        first = self.first_divergence
        if first is None:
            return []
        return [s.name for s in self.compared if not s.passed and s.name != first.name]

    @property
    def passed(self) -> bool:
        return self.first_divergence is None

    def __bool__(self) -> bool:
        return self.passed

    def __getitem__(self, name: str) -> StageDiff:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        first = self.first_divergence
        return {
            "baseline": self.a,
            "impl": self.b,
            "passed": self.passed,
            # `first` is falsy when it differs (StageDiff.__bool__ is `passed`): test against None
            "first_divergence": first.name if first is not None else None,
            "consequences": self.consequences,
            "stages": [s.to_dict() for s in self.stages],
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, tuple | list):
        return [_jsonable(x) for x in v]
    if isinstance(v, np.generic):
        return v.item()
    return v


def format_location(at: dict | None) -> str:
    """A located element as text: ``tile 1, channel 2, y 3, x 0`` ("?" when unknown)."""
    return ", ".join(f"{k} {v}" for k, v in at.items()) if at else "?"


#: the value shown for a plan key one side does not record
ABSENT = "<absent>"


def diff_plan(a: dict, b: dict) -> dict[str, Any]:
    """Exact key-by-key diff of two plan dicts: {key: {"a": va, "b": vb}} for every key whose values
    differ. Every impl of a family records the family's plan type, so a key only one side has is a
    difference too (shown as ``<absent>``; ``plan_only_keys`` names them)."""
    keys = list(a) + [k for k in b if k not in a]
    return {k: {"a": a.get(k, ABSENT), "b": b.get(k, ABSENT)} for k in keys if a.get(k, ABSENT) != b.get(k, ABSENT)}


def plan_only_keys(a: dict, b: dict) -> str:
    only_a, only_b = [k for k in a if k not in b], [k for k in b if k not in a]
    parts = ([f"only the baseline records {', '.join(only_a)}"] if only_a else []) + \
        ([f"only the impl records {', '.join(only_b)}"] if only_b else [])
    return "; ".join(parts)


def channel_axis(layout: str, ndim: int) -> int | None:
    """Axis of the channel dimension from a layout label like ``tiles,C,H,W`` or ``HWC``."""
    head = layout.split()[0] if layout else ""
    parts = head.split(",") if "," in head else list(head)
    if "C" in parts and len(parts) == ndim:
        return parts.index("C")
    return None


#: layout-label axis names -> the names a located element is reported with
AXIS_NAMES = {"C": "channel", "H": "y", "W": "x", "tiles": "tile", "tile": "tile", "max_tiles": "tile",
              "slices": "slice", "slice": "slice", "crops": "crop", "patches": "patch", "images": "image",
              "image": "image", "batch": "batch", "frames": "frame"}


def layout_axes(layout: str) -> list[str]:
    """Axis labels of a layout label: ``tiles,C,H,W`` -> [tiles, C, H, W]; ``HWC`` -> [H, W, C]."""
    head = layout.split()[0] if layout else ""
    return head.split(",") if "," in head else list(head)


def locate(index: tuple | int | None, layout: str, shape: Any) -> dict | None:
    """Name an element by the layout label: ``(2, 0, 17, 300)`` in ``tiles,C,H,W`` ->
    ``{"tile": 2, "channel": 0, "y": 17, "x": 300}``.

    ``shape`` is a tuple, or a list of part shapes for ragged stages (then ``index`` is a flat index
    into the concatenated parts and the result also names the ``part``)."""
    if index is None:
        return None
    out: dict[str, int] = {}
    if isinstance(shape, list) and shape and isinstance(shape[0], (tuple, list)):
        flat = int(index if isinstance(index, int) else index[0])
        for part, ps in enumerate(shape):
            size = int(np.prod(ps))
            if flat < size:
                out["part"] = part
                index, shape = tuple(int(i) for i in np.unravel_index(flat, tuple(ps))), tuple(ps)
                break
            flat -= size
        else:
            return None
    elif isinstance(index, int):
        index = tuple(int(i) for i in np.unravel_index(index, tuple(shape)))
    axes = layout_axes(layout)
    if len(axes) != len(index):
        axes = [f"axis{i}" for i in range(len(index))]
    for ax, i in zip(axes, index):
        out[AXIS_NAMES.get(ax, ax.lower())] = int(i)
    return out


def _level_scale(layout: str, shape: tuple, std: list[float] | None, is_int: bool) -> np.ndarray | float:
    """Multiplier turning |Δ| into uint8 levels: 1 for integer stages, 255·std for normalized floats."""
    if is_int:
        return 1.0
    if not std:
        return 255.0  # unnormalized float in [0, 1]
    ax = channel_axis(layout, len(shape))
    if ax is None or shape[ax] != len(std):
        return 255.0 * float(np.mean(std))
    bshape = [1] * len(shape)
    bshape[ax] = len(std)
    return 255.0 * np.asarray(std, dtype=np.float64).reshape(bshape)


def diff_arrays(name: str, a: np.ndarray, b: np.ndarray, layout: str = "", std: list[float] | None = None,
                dtype_a: str = "", dtype_b: str = "", note: str = "") -> StageDiff:
    """Stats of ``b`` against ``a`` (same shape). Integer stages compare exactly; see module doc."""
    fa, fb = a.astype(np.float64), b.astype(np.float64)
    is_int = np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)
    delta = fb - fa
    d = np.abs(delta)
    # Every |Δ| finite (always for integer stages; then neither side holds a NaN or an inf): the NaN-aware
    # steps below reduce to their plain forms, the same numbers bit for bit without their masks and copies.
    scale = _level_scale(layout, a.shape, std, is_int)
    finite = bool(np.isfinite(scale).all()) and (is_int or bool(np.isfinite(d).all()))
    nanmax, nanmean = (np.max, np.mean) if finite else (np.nanmax, np.nanmean)
    # NaN-safe: a NaN on either side counts as a difference
    neq = (d != 0) if finite else (d != 0) | (np.isnan(fa) != np.isnan(fb))
    n_diff = int(np.count_nonzero(neq))
    common = dict(name=name, kind="array", dtype_a=dtype_a or str(a.dtype), dtype_b=dtype_b or str(b.dtype),
                  shape_a=tuple(a.shape), shape_b=tuple(b.shape), n=int(a.size), note=note)
    dtype_differs = common["dtype_a"] != common["dtype_b"]
    if n_diff == 0:
        status = "differ" if dtype_differs else "equal"
        return StageDiff(status=status, **common)
    lev = d * scale
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(neq)), a.shape))
    worst_flat = int(np.argmax(d)) if finite else int(np.nanargmax(np.where(np.isnan(d), np.inf, d)))
    worst = tuple(int(i) for i in np.unravel_index(worst_flat, a.shape))
    sig = float(np.sum(fa * fa))
    err = float((np.sum if finite else np.nansum)(delta ** 2))
    nmse = err / sig if sig > 0 else math.inf
    peak = 255.0 if is_int else float(nanmax(np.abs(fa))) or 1.0
    mse = err / a.size
    ratio = peak * peak / mse if mse > 0 else math.nan
    # None also where an inf or NaN leaves the ratio undefined, infinite or 0 (it raised before)
    psnr = 10 * math.log10(ratio) if math.isfinite(ratio) and ratio > 0 else None
    na, nb = math.sqrt(sig), math.sqrt(float(np.sum(fb * fb)))
    cos = float(np.sum(fa * fb) / (na * nb)) if na > 0 and nb > 0 else None
    hist = level_histogram(lev[neq])
    return StageDiff(
        status="differ", n_diff=n_diff, max_abs=float(nanmax(d)), mean_abs=float(nanmean(d)),
        max_levels=float(nanmax(lev)), mean_levels=float(nanmean(lev)), nmse=nmse, psnr_db=psnr,
        cosine=cos, first_index=first, worst_index=worst,
        worst_values=(fa[worst].item(), fb[worst].item()), histogram=hist,
        first_at=locate(first, layout, a.shape), worst_at=locate(worst, layout, a.shape), layout=layout,
        **common)


def level_histogram(levels: np.ndarray) -> dict[int, int]:
    """|Δ| in uint8 levels, rounded -> count (differing elements only). Past LIST_CAP distinct values the
    rest are folded into one last bin, stored under the negated value (``-v`` reads ">= v", see
    hist_label), so the counts always add up to the number of differences."""
    # NaN and inf (a NaN or an inf on one side) count as 1e9 levels, a number the cast to int64 can hold
    rounded = np.rint(np.nan_to_num(levels, nan=1e9, posinf=1e9)).astype(np.int64)
    vals, counts = np.unique(rounded, return_counts=True)
    if len(vals) > LIST_CAP:
        counts = np.concatenate([counts[: LIST_CAP - 1], [counts[LIST_CAP - 1:].sum()]])
        vals = np.concatenate([vals[: LIST_CAP - 1], [-max(int(vals[LIST_CAP - 1]), 1)]])
    return {int(v): int(c) for v, c in zip(vals, counts)}


def hist_label(k: int, hist: dict[int, int]) -> str:
    """A histogram key as text: ``"3"``, or ``">=19"`` for the folded last bin."""
    return f">={-k}" if k < 0 else str(k)


def diff_records(ra: StageRecord | None, rb: StageRecord | None, std: list[float] | None = None) -> StageDiff:
    name = (ra or rb).name
    if ra is None or rb is None:
        present = "baseline" if ra is not None else "impl"
        return StageDiff(name=name, status="missing", kind="missing", note=f"only the {present} has this stage")
    if ra.kind == "plan" or rb.kind == "plan":
        both = ra.kind == rb.kind == "plan"
        pd = diff_plan(ra.value, rb.value) if both else {"value": {"a": "?", "b": "?"}}
        return StageDiff(name=name, status="equal" if not pd else "differ", kind="plan", dtype_a="json",
                         dtype_b="json", plan_diff=pd, plan_a=_plan_value(ra), plan_b=_plan_value(rb),
                         note=plan_only_keys(ra.value, rb.value) if both else "")
    if ra.sha256 == rb.sha256 and ra.dtype == rb.dtype and ra.shape == rb.shape:
        return StageDiff(name=name, status="equal", kind=ra.kind, dtype_a=ra.dtype, dtype_b=rb.dtype,
                         shape_a=ra.shape, shape_b=rb.shape, n=int(np.asarray(ra.value).size) if ra.kind == "array" else 0)
    a_int = np.dtype(ra.dtype).kind in "iub" if ra.dtype != "none" else True
    b_int = np.dtype(rb.dtype).kind in "iub" if rb.dtype != "none" else True
    if ra.layout != rb.layout and a_int == b_int and ra.kind == rb.kind == "array":
        converted = _compare_canvas_with_tiles(name, ra, rb, std)
        if converted is None:  # (not `or`: a StageDiff that differs is falsy)
            converted = _compare_padded_tiles(name, ra, rb, std)
        if converted is not None:
            return converted
    if ra.layout != rb.layout or a_int != b_int:
        why = (f"layouts differ ({ra.layout!r} vs {rb.layout!r})" if ra.layout != rb.layout else
               f"recorded at different points of the pipeline ({ra.dtype} vs {rb.dtype})")
        return StageDiff(name=name, status="incomparable", kind=ra.kind, dtype_a=ra.dtype, dtype_b=rb.dtype,
                         shape_a=ra.shape, shape_b=rb.shape,
                         note=f"not compared: {why}; later stages show whether it matters")
    va = ra.value if ra.kind == "array" else _concat(ra.value)
    vb = rb.value if rb.kind == "array" else _concat(rb.value)
    if ra.shape != rb.shape:
        same_size = np.asarray(va).size == np.asarray(vb).size
        note = ("same number of elements in another shape: a layout difference (HWC/CHW, tile order) or a "
                "width/height swap" if same_size else "different number of elements")
        return StageDiff(name=name, status="shape", kind=ra.kind, dtype_a=ra.dtype, dtype_b=rb.dtype,
                         shape_a=ra.shape, shape_b=rb.shape, n=int(np.asarray(va).size), note=note)
    note = f"dtype differs: {ra.dtype} vs {rb.dtype}" if ra.dtype != rb.dtype else ""
    out = diff_arrays(name, np.asarray(va), np.asarray(vb), ra.layout, std, ra.dtype, rb.dtype, note)
    if ra.kind == "ragged":
        fix = {"kind": "ragged", "shape_a": ra.shape, "shape_b": rb.shape}
        if out.first_index is not None:
            fix["first_at"] = locate(out.first_index, ra.layout, ra.shape)
            fix["worst_at"] = locate(out.worst_index, ra.layout, ra.shape)
        out = StageDiff(**{**out.__dict__, **fix})
    return out


def canvas_as_tiles(canvas: np.ndarray, tile_shape: tuple) -> np.ndarray | None:
    """A (C, H, W) canvas cut row-major into (n, C, T, T) tiles, when it divides exactly into n."""
    if canvas.ndim != 3 or len(tile_shape) != 4:
        return None
    n, c, t, t2 = tile_shape
    ch, h, w = canvas.shape
    if t != t2 or ch != c or h % t or w % t or (h // t) * (w // t) != n:
        return None
    return canvas.reshape(c, h // t, t, w // t, t).transpose(1, 3, 0, 2, 4).reshape(n, c, t, t)


def _compare_canvas_with_tiles(name: str, ra: StageRecord, rb: StageRecord, std: list[float] | None) -> StageDiff | None:
    """One side normalized the whole canvas (``C,H,W``), the other the tiles (``tiles,C,H,W``): cut the
    canvas into row-major tiles and compare those (None when the layouts are not that pair)."""
    axes_a, axes_b = layout_axes(ra.layout), layout_axes(rb.layout)
    va, vb = np.asarray(ra.value), np.asarray(rb.value)
    if axes_a == ["C", "H", "W"] and axes_b[-3:] == ["C", "H", "W"] and len(axes_b) == 4:
        ta, tb, layout, which = canvas_as_tiles(va, vb.shape), vb, rb.layout, "baseline"
    elif axes_b == ["C", "H", "W"] and axes_a[-3:] == ["C", "H", "W"] and len(axes_a) == 4:
        ta, tb, layout, which = va, canvas_as_tiles(vb, va.shape), ra.layout, "impl"
    else:
        return None
    if ta is None or tb is None:
        return None
    note = f"the {which}'s canvas ({ra.layout if which == 'baseline' else rb.layout!r}) cut into row-major tiles to compare"
    out = diff_arrays(name, ta, tb, layout, std, ra.dtype, rb.dtype, note)
    return StageDiff(**{**out.__dict__, "shape_a": ra.shape, "shape_b": rb.shape})


def _compare_padded_tiles(name: str, ra: StageRecord, rb: StageRecord, std: list[float] | None) -> StageDiff | None:
    """One side zero-pads its tiles to the model's maximum (``max_tiles,C,H,W``, as Ollama feeds mllama),
    the other keeps only the real ones (``tiles,C,H,W``): compare the real tiles, and say whether the
    padding is all zeros (None when the layouts are not that pair)."""
    axes_a, axes_b = layout_axes(ra.layout), layout_axes(rb.layout)
    va, vb = np.asarray(ra.value), np.asarray(rb.value)
    if axes_a[1:] != axes_b[1:] or {axes_a[0], axes_b[0]} != {"tiles", "max_tiles"} or va.shape[1:] != vb.shape[1:]:
        return None
    padded, real = (va, vb) if axes_a[0] == "max_tiles" else (vb, va)
    n = real.shape[0]
    if padded.shape[0] < n:
        return None
    which = "baseline" if padded is va else "impl"
    zeros = not np.any(padded[n:])
    note = (f"the {which} pads to {padded.shape[0]} tiles; its first {n} compared, the padding is "
            f"{'all zeros' if zeros else 'NOT all zeros'}")
    ta, tb = (padded[:n], real) if padded is va else (real, padded[:n])
    out = diff_arrays(name, ta, tb, "tiles," + ",".join(axes_a[1:]), std, ra.dtype, rb.dtype, note)
    return StageDiff(**{**out.__dict__, "shape_a": ra.shape, "shape_b": rb.shape})


def _plan_value(r: StageRecord) -> dict | None:
    return dict(r.value) if r.kind == "plan" else None


def _concat(parts: tuple) -> np.ndarray:
    return np.concatenate([np.asarray(p).ravel() for p in parts]) if parts else np.zeros(0)


def aligned_names(a: Trace, b: Trace) -> list[str]:
    """Stage names of ``a`` in its order, then those only ``b`` has."""
    return a.names + [n for n in b.names if n not in a]


def compare_traces(a: Trace, b: Trace, std: list[float] | None = None) -> TraceDiff:
    """Diff of ``b`` against baseline ``a``; ``std`` is the preset's image_std (for uint8 levels).

    When ``pack`` differs and both traces say which uint8 pixel each pack element came from, the pack
    diff also carries ``isolated``: the differences among elements whose input pixels are equal, i.e.
    what normalization/packing does on its own, not hidden by an upstream difference."""
    stages = tuple(diff_records(a.get(n), b.get(n), std) for n in aligned_names(a, b))
    stages = tuple(_isolate(s, a, b, std) if s.name == "pack" and s.status == "differ" else s for s in stages)
    return TraceDiff(a.impl, b.impl, stages)


def _isolate(sd: StageDiff, a: Trace, b: Trace, std: list[float] | None) -> StageDiff:
    (sa, stage_a), (sb, stage_b) = pack_source_u8(a), pack_source_u8(b)
    if sa is None or sb is None or sa.shape != sb.shape or sd.kind != "array":
        return sd
    pa, pb = np.asarray(a["pack"].value, np.float64), np.asarray(b["pack"].value, np.float64)
    same = sa == sb
    d = np.abs(pb - pa)
    lev = d * _level_scale(a["pack"].layout, pa.shape, std, False)
    own = same & (d != 0)
    n_own = int(np.count_nonzero(own))
    info = {"source_stages": [stage_a, stage_b], "elements_with_same_input": int(np.count_nonzero(same)),
            "n_diff": n_own, "max_levels": float(lev[own].max()) if n_own else 0.0,
            "max_abs": float(d[own].max()) if n_own else 0.0, "n_diff_from_upstream": sd.n_diff - n_own}
    return StageDiff(**{**sd.__dict__, "isolated": info})


# ---------------------------------------------------------------------------------------------------
# Where each pack element comes from: the uint8 canvas -> pack map of a trace


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


def pack_geometry(ref: Trace, canvas: str = "pad") -> tuple[PackGeometry | None, str]:
    """The canvas -> pack map of the reference, or None and why not. ``canvas``: the stage holding the
    canvas (``pad``; ``resize`` for a pipeline that feeds its resized image on without padding)."""
    pad, pack = ref.get(canvas), ref.get("pack")
    if pad is None or pack is None or pad.kind != "array" or pack.kind != "array":
        return None, f"the reference has no single-array {canvas} and pack stages"
    axes, shape = layout_axes(pack.layout), pack.shape
    single = axes[-3:] == ["C", "H", "W"] and len(shape) == 3
    if axes[-3:] != ["C", "H", "W"] or len(shape) not in (3, 4) or shape[-1] != shape[-2]:
        return None, f"pack layout {pack.layout!r} is not tiles,C,H,W / C,H,W of square tiles"
    t, (h, w, _) = shape[-1], pad.shape
    if h % t or w % t or (1 if single else shape[0]) != (h // t) * (w // t):
        return None, f"pad canvas {h}x{w} does not split into the {shape} pack"
    return PackGeometry((h // t, w // t), t, single), ""


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
