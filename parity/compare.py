"""Compare two traces stage by stage, aligned by stage name (never by position).

Shape and dtype first; then ``plan`` (and other dicts) by an exact key-by-key diff; uint8 and integer
arrays exactly, with a histogram of level differences; float arrays with max/mean |Δ|, the same in
uint8 levels (|Δ|·255·std, std from the preset), NMSE, PSNR and cosine similarity. The first stage that
differs is the divergence; later differing stages are reported as its consequences. Elements are
located by the layout label (``tile 2, channel 0, y 17, x 300``); plans keep both whole decisions.

Also here: stage injection (``run_with_injection``: ``--from-stage decode`` feeds every impl the same
decoded pixels) and the library side of ``parity compare`` (``compare_external`` -> ``ExternalResult``,
``render_external_text``): an external dump against every impl, and, when none matches, the closest
impl, the first divergent stage inferred and the ranked diagnosis (parity.diagnose).
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
                "worst_location": _fmt_at(self.worst_at) if self.worst_at else None,
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


def diff_plan(a: dict, b: dict) -> dict[str, Any]:
    """Exact key-by-key diff of two plan dicts: {key: {"a": va, "b": vb}} for keys both have and that
    differ. A key only one side records (an impl that computes no aspect-ratio id, say) is not a
    divergence; ``plan_only_keys`` lists those."""
    return {k: {"a": a[k], "b": b[k]} for k in a if k in b and a[k] != b[k]}


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
    d = np.abs(fb - fa)
    # NaN-safe: a NaN on either side counts as a difference
    neq = (d != 0) | (np.isnan(fa) != np.isnan(fb))
    n_diff = int(np.count_nonzero(neq))
    common = dict(name=name, kind="array", dtype_a=dtype_a or str(a.dtype), dtype_b=dtype_b or str(b.dtype),
                  shape_a=tuple(a.shape), shape_b=tuple(b.shape), n=int(a.size), note=note)
    dtype_differs = common["dtype_a"] != common["dtype_b"]
    if n_diff == 0:
        status = "differ" if dtype_differs else "equal"
        return StageDiff(status=status, **common)
    lev = d * _level_scale(layout, a.shape, std, is_int)
    first = tuple(int(i) for i in np.unravel_index(int(np.argmax(neq)), a.shape))
    worst_flat = int(np.nanargmax(np.where(np.isnan(d), np.inf, d)))
    worst = tuple(int(i) for i in np.unravel_index(worst_flat, a.shape))
    sig = float(np.sum(fa * fa))
    err = float(np.nansum((fb - fa) ** 2))
    nmse = err / sig if sig > 0 else math.inf
    peak = 255.0 if is_int else float(np.nanmax(np.abs(fa))) or 1.0
    mse = err / a.size
    psnr = 10 * math.log10(peak * peak / mse) if mse > 0 else None
    na, nb = math.sqrt(sig), math.sqrt(float(np.sum(fb * fb)))
    cos = float(np.sum(fa * fb) / (na * nb)) if na > 0 and nb > 0 else None
    hist = level_histogram(lev[neq])
    return StageDiff(
        status="differ", n_diff=n_diff, max_abs=float(np.nanmax(d)), mean_abs=float(np.nanmean(d)),
        max_levels=float(np.nanmax(lev)), mean_levels=float(np.nanmean(lev)), nmse=nmse, psnr_db=psnr,
        cosine=cos, first_index=first, worst_index=worst,
        worst_values=(fa[worst].item(), fb[worst].item()), histogram=hist,
        first_at=locate(first, layout, a.shape), worst_at=locate(worst, layout, a.shape), layout=layout,
        **common)


def level_histogram(levels: np.ndarray) -> dict[int, int]:
    """|Δ| in uint8 levels, rounded -> count (differing elements only). Past LIST_CAP distinct values the
    rest are folded into one last bin, stored under the negated value (``-v`` reads ">= v", see
    hist_label), so the counts always add up to the number of differences."""
    vals, counts = np.unique(np.rint(np.nan_to_num(levels, nan=1e9)).astype(np.int64), return_counts=True)
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
    from parity.diagnose import pack_source_u8

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
# Stage injection and external dumps (`parity compare`)

#: stages `--from-stage` can feed every impl: the impls accept injected decoded pixels
#: (ImageInput.decoded). Impls take no injected later stage; for those, the pack diff's `isolated`
#: (`given_same_input` in JSON) separates what normalize/pack does on equal input pixels from what it
#: inherits from upstream.
INJECTABLE_STAGES = ("decode",)

#: version of the JSON written by `parity compare --json` (docs/json-schema.md)
COMPARE_SCHEMA_VERSION = 1


def shared_decode(image_path: str, policy: str = "pil-hf") -> np.ndarray:
    """The decoded pixels every impl gets under ``--from-stage decode`` (one decode, PIL policy)."""
    from parity.decode import decode_pil

    return decode_pil(image_path, policy).rgb


def run_with_injection(impls: list, preset: Any, image_path: str, from_stage: str | None = None,
                       policy: str = "pil-hf") -> dict[str, Trace]:
    """Run every impl on ``image_path``; with ``from_stage="decode"`` they all start from the same
    decoded pixels (decoded once with ``policy``), so a decode difference cannot hide the rest."""
    from parity.errors import ParityError
    from parity.impls.base import ImageInput

    if from_stage not in (None, *INJECTABLE_STAGES):
        raise ParityError(f"--from-stage {from_stage!r} is not supported; supported: {', '.join(INJECTABLE_STAGES)}")
    image = ImageInput(image_path, injected=shared_decode(image_path, policy) if from_stage == "decode" else None)
    return {impl.name: impl.run(image, preset) for impl in impls}


@dataclass(frozen=True)
class ImplMatch:
    """How an external dump compares with one impl's stage."""

    impl: str
    version: str
    stage: str  # the stage of the impl's trace the dump was compared with
    match: str  # exact | exact-after-rounding | close | differ
    diff: StageDiff
    note: str = ""
    diverges_from_match: dict | None = None  # this impl vs the matching impl: first divergence, consequences

    def to_dict(self) -> dict[str, Any]:
        d = {"impl": self.impl, "version": self.version, "stage": self.stage, "match": self.match,
             "diff": self.diff.to_dict()}
        if self.note:
            d["note"] = self.note
        if self.diverges_from_match is not None:
            d["diverges_from_match"] = self.diverges_from_match
        return d


@dataclass(frozen=True)
class ExternalResult:
    """An external dump against every impl: which matches, else the closest, where and why."""

    preset: str
    image: str
    from_stage: str | None
    dump: Any  # parity.dumps.Dump
    matches: tuple[ImplMatch, ...]
    plan: dict | None  # the closest impl's plan (where the shape came from)
    diagnosis: Any = None  # parity.diagnose.Diagnosis, when no impl matches exactly
    first_divergence: dict | None = None  # {"stage", "source", "evidence"} inferred for the closest impl
    skipped: dict = field(default_factory=dict)  # impl -> why it did not run

    @property
    def matched(self) -> list[str]:
        return [m.impl for m in self.matches if m.match in ("exact", "exact-after-rounding")]

    @property
    def closest(self) -> ImplMatch | None:
        return self.matches[0] if self.matches else None

    @property
    def passed(self) -> bool:
        return bool(self.matched)

    def __bool__(self) -> bool:
        return self.passed

    def to_dict(self) -> dict[str, Any]:
        closest = self.closest
        return {
            "schema_version": COMPARE_SCHEMA_VERSION,
            "kind": "compare",
            "preset": self.preset,
            "image": self.image,
            "from_stage": self.from_stage,
            "dump": self.dump.to_dict(),
            "passed": self.passed,
            "matched": self.matched,
            "closest": closest.impl if closest else None,
            "plan": self.plan,
            "impls": [m.to_dict() for m in self.matches],
            "first_divergence": self.first_divergence,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
            "skipped": self.skipped,
        }


def _round_to(values: np.ndarray, dtype: str) -> np.ndarray | None:
    """float32 values rounded to a dump's narrower dtype (None when it is not narrower)."""
    if dtype == "float16":
        return values.astype(np.float32).astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        import torch

        t = torch.from_numpy(np.array(values, np.float32))
        return t.to(torch.bfloat16).to(torch.float32).numpy().astype(np.float64)
    return None


def match_dump(dump: Any, trace: Trace, impl_version: str, std: list[float] | None) -> ImplMatch | None:
    """Compare a dump with the stage of ``trace`` it fits (the raw reading's stage, else by size)."""
    from parity.dumps import DUMP_STAGES, stage_values

    size = dump.values.size
    order = list(DUMP_STAGES)
    if dump.chosen is not None:
        order.remove(dump.chosen.target.stage)
        order.insert(0, dump.chosen.target.stage)
    for stage in order:
        rec = trace.get(stage)
        if rec is None or rec.kind == "plan":
            continue
        ref = stage_values(trace, stage)
        if ref.size != size:
            continue
        obs = np.asarray(dump.values, np.float64).ravel()
        shape = rec.shape if rec.kind == "array" else (size,)
        diff = diff_arrays(stage, ref.reshape(shape), obs.reshape(shape), rec.layout, std, rec.dtype, dump.dtype)
        if rec.kind == "ragged" and diff.first_index is not None:
            diff = StageDiff(**{**diff.__dict__, "kind": "ragged", "shape_a": rec.shape,
                                "first_at": locate(diff.first_index, rec.layout, rec.shape),
                                "worst_at": locate(diff.worst_index, rec.layout, rec.shape)})
        notes = []
        if rec.kind == "array" and tuple(dump.values.shape) not in (tuple(rec.shape), (size,)):
            notes.append(f"dump shape {tuple(dump.values.shape)} differs from {stage} shape {tuple(rec.shape)}; "
                         "compared in flat C order, as the raw bytes are laid out")
        if diff.n_diff == 0:
            match = "exact"
            if dump.dtype != rec.dtype:
                notes.append(f"values identical; stored as {dump.dtype}, the impl's {stage} is {rec.dtype}")
        else:
            rounded = _round_to(ref, dump.dtype)
            if rounded is not None and np.array_equal(rounded, obs):
                match = "exact-after-rounding"
                notes.append(f"equal to the impl's {rec.dtype} {stage} rounded to {dump.dtype}")
            else:
                match = "close" if diff.max_levels <= 1.0 else "differ"
        return ImplMatch(trace.impl, impl_version, stage, match, diff, "; ".join(notes))
    return None


_MATCH_RANK = {"exact": 0, "exact-after-rounding": 1, "close": 2, "differ": 3}


def compare_external(dump_path: str, preset: Any, image_path: str, impl_names: list[str] | None = None,
                     from_stage: str | None = None) -> ExternalResult:
    """`parity compare`: load ``dump_path``, run the impls on ``image_path`` and compare; when none
    matches exactly, diagnose the dump against the closest impl."""
    from parity.dumps import load_dump
    from parity.errors import ParityError
    from parity.impls import get_impl, impls_for
    from parity.presets import get_preset

    preset = get_preset(preset) if isinstance(preset, str) else preset
    if impl_names:
        impls = [get_impl(n) for n in impl_names]
        skipped = {i.name: i.supports(preset) for i in impls if i.supports(preset)}
        impls = [i for i in impls if i.name not in skipped]
    else:
        impls, skipped = impls_for(preset), {}
    if not impls:
        raise ParityError(f"no impl can run {preset.name}" + (f": {skipped}" if skipped else ""))
    from parity.export import check_regular

    if check_regular(dump_path, "dump") == 0:  # before running any impl
        raise ParityError(f"dump {dump_path} is empty (0 bytes)")
    if from_stage not in (None, *INJECTABLE_STAGES):
        raise ParityError(f"--from-stage {from_stage!r} is not supported; supported: {', '.join(INJECTABLE_STAGES)}")
    from parity.impls.base import ImageInput

    image = ImageInput(image_path, injected=shared_decode(image_path) if from_stage == "decode" else None)
    traces, failed = {}, {}
    for impl in impls:  # an impl that fails on the image is skipped with its reason; all failing is bad input
        try:
            traces[impl.name] = impl.run(image, preset)
        except ParityError as e:
            failed[impl.name] = str(e)
        except Exception as e:
            failed[impl.name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if not traces:
        reasons = set(failed.values())
        raise ParityError(f"every impl failed on {image_path}: {reasons.pop()}" if len(reasons) == 1 else
                          f"no impl could use {image_path}: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    skipped.update({k: f"failed on the image: {v}" for k, v in failed.items()})
    dump = load_dump(dump_path, list(traces.values()))
    std = list(preset.get("image_std", [])) or None
    by_name = {i.name: i for i in impls}
    found = [m for t in traces.values() if (m := match_dump(dump, t, by_name[t.impl].version, std)) is not None]
    found.sort(key=lambda m: (_MATCH_RANK[m.match], m.diff.nmse))
    if found and found[0].match in ("exact", "exact-after-rounding"):
        ref = traces[found[0].impl]
        found = [found[0]] + [_with_divergence(m, ref, traces[m.impl], std) for m in found[1:]]
    closest = found[0] if found else None
    diagnosis = first = None
    if closest is not None and closest.match not in ("exact", "exact-after-rounding") and closest.stage == "pack":
        # diagnose against every impl compared on pack; keep the one whose top cause explains the dump best
        diagnosis = _best_diagnosis(dump, [traces[m.impl] for m in found if m.stage == "pack"], preset,
                                    image_path, by_name)
        first = _infer_divergence(diagnosis)
    elif closest is not None and closest.match not in ("exact", "exact-after-rounding"):
        first = {"stage": closest.stage, "source": "comparison",
                 "evidence": f"compared with {closest.stage}; diagnosis needs a pack-sized dump"}
    plan = traces[closest.impl].plan if closest and "plan" in traces[closest.impl] else None
    return ExternalResult(preset.name, image_path, from_stage, dump, tuple(found), plan, diagnosis, first, skipped)


def _with_divergence(m: ImplMatch, matched: Trace, other: Trace, std: list[float] | None) -> ImplMatch:
    td = compare_traces(matched, other, std)
    first = td.first_divergence
    info = {"against": matched.impl, "first_divergence": first.name if first is not None else None,
            "consequences": td.consequences}
    return ImplMatch(**{**m.__dict__, "diverges_from_match": info})


def _best_diagnosis(dump: Any, candidates: list[Trace], preset: Any, image_path: str, by_name: dict) -> Any:
    """Diagnose against each distinct pack (impls with identical packs once): first the quick
    hypotheses everywhere, stopping at an exact explanation; then all hypotheses; the best wins."""
    from parity.diagnose import QUICK_HYPOTHESES, diagnose

    distinct, seen = [], set()
    for t in candidates:
        if t["pack"].sha256 not in seen:
            seen.add(t["pack"].sha256)
            distinct.append(t)
    quick = [diagnose(dump.values, t, preset, image_path, by_name[t.impl], QUICK_HYPOTHESES) for t in distinct]
    best = min(quick, key=_explained)
    if best.top is not None and best.top.match == "exact":
        return best
    full = []
    # fewest differing elements first: the likeliest to be explained exactly, which ends the search
    for t in sorted(distinct, key=lambda t: int(np.count_nonzero(stage_values_of(t) != dump_flat(dump)))):
        full.append(diagnose(dump.values, t, preset, image_path, by_name[t.impl]))
        if full[-1].top is not None and full[-1].top.match == "exact":
            break
    return min(full, key=_explained)


def stage_values_of(t: Trace) -> np.ndarray:
    from parity.dumps import stage_values

    return stage_values(t, "pack")


def dump_flat(dump: Any) -> np.ndarray:
    return np.asarray(dump.values, np.float64).ravel()


def _explained(diagnosis: Any) -> tuple:
    """Sort key: a diagnosis whose top cause matches best first; the closest reference breaks ties."""
    from parity.diagnose import TIERS

    top = diagnosis.top
    if top is None:
        return (len(TIERS), diagnosis.baseline["nmse"])
    return (TIERS.index(top.match), top.nmse)


def _infer_divergence(diagnosis: Any) -> dict | None:
    if diagnosis.top is not None:
        return {"stage": diagnosis.top.stage, "source": "diagnosis", "evidence": diagnosis.top.title}
    if diagnosis.localized:
        return {**diagnosis.localized, "source": "localization"}
    return None


def _fmt_at(at: dict | None) -> str:
    return ", ".join(f"{k} {v}" for k, v in at.items()) if at else "?"


def render_external_text(result: ExternalResult) -> str:
    """The human report of `parity compare` (rendered from the same data as --json)."""
    from parity.diagnose import render_diagnosis_text

    d = result.dump
    reading = (f"read as {d.chosen.dtype} little-endian" if d.chosen and d.chosen.dtype != "float32-big-endian"
               else f"read as {d.chosen.dtype}" if d.chosen else f"{d.format} {d.dtype}")
    lines = [f"dump {d.path}: {d.nbytes} bytes, sha1 {d.sha1}, {reading}, shape {list(d.shape)}"
             + (f" (entry {d.key!r})" if d.key else "")]
    if d.chosen is not None:
        lines.append(f"  shape from {d.chosen.target.label()} of {result.preset} on {result.image}")
    others = [r for r in d.readings if d.chosen is not None and r.dtype != d.chosen.dtype]
    if others:
        lines.append(f"  other readings of the same bytes ({'ambiguous; ' if d.ambiguous else ''}chosen: the "
                     "plausible one closest to an impl):")
        seen = set()
        for r in others:
            if not r.plausible and r.dtype in seen:
                continue
            seen.add(r.dtype)
            nm = "n/a" if r.nmse is None else f"{r.nmse:.3g}"
            lines.append(f"    {r.dtype} as {r.target.label() if r.plausible else r.target.stage}: max |v| "
                         f"{r.max_abs:.3g}, NMSE vs stage {nm}{'' if r.plausible else ' (implausible)'}")
    if result.plan:
        lines.append(f"plan ({result.closest.impl if result.closest else '?'}): {result.plan}")
    if result.from_stage:
        lines.append(f"every impl started from the same {result.from_stage} output (stage injection)")
    lines.append(f"{'impl':<18} {'stage':<10} {'match':<21} {'differing':>20} {'max |Δ| levels':>15} {'NMSE':>10}")
    for m in result.matches:
        s = m.diff
        lines.append(f"{m.impl:<18} {m.stage:<10} {m.match:<21} {f'{s.n_diff}/{s.n}':>20} {s.max_levels:>15.3g} "
                     f"{s.nmse:>10.3g}")
        if m.note:
            lines.append(f"    note: {m.note}")
        if m.diverges_from_match and m.diverges_from_match["first_divergence"]:
            dv = m.diverges_from_match
            lines.append(f"    diverges from {dv['against']} at {dv['first_divergence']}"
                         + (f" (then {', '.join(dv['consequences'])})" if dv["consequences"] else ""))
    for name, why in result.skipped.items():
        lines.append(f"{name:<18} skipped: {why}")
    if result.matched:
        how = next(m.match for m in result.matches if m.impl == result.matched[0])
        lines.append(f"MATCH: the dump is {'bit-identical to' if how == 'exact' else 'equal, after rounding, to'} "
                     f"the output of {', '.join(result.matched)}")
        return "\n".join(lines)
    c = result.closest
    if c is None:
        lines.append("NO MATCH: no impl has a stage of the dump's size")
        return "\n".join(lines)
    s = c.diff
    lines.append(f"NO MATCH. closest: {c.impl} ({c.stage}): {s.n_diff} of {s.n} elements differ, max |Δ| "
                 f"{s.max_abs:.4g} = {s.max_levels:.2f} uint8 levels, mean {s.mean_levels:.3g} levels, NMSE "
                 f"{s.nmse:.3g}, PSNR {s.psnr_db if s.psnr_db is None else round(s.psnr_db, 2)} dB, cosine "
                 f"{s.cosine if s.cosine is None else round(s.cosine, 6)}")
    if s.worst_at:
        lines.append(f"  worst element: {_fmt_at(s.worst_at)}: {c.impl} {s.worst_values[0]:.6g}, dump "
                     f"{s.worst_values[1]:.6g}; first difference at {_fmt_at(s.first_at)}")
    if s.histogram:
        lines.append("  |Δ| in uint8 levels -> count: " + ", ".join(f"{hist_label(k, s.histogram)}: {v}" for k, v in s.histogram.items()))
    if result.first_divergence:
        fd = result.first_divergence
        lines.append(f"first divergent stage (inferred from the {fd['source']}): {fd['stage']}: {fd['evidence']}")
    if result.diagnosis is not None:
        lines.append("likely causes:")
        lines.append("  " + render_diagnosis_text(result.diagnosis).replace("\n", "\n  "))
    return "\n".join(lines)
