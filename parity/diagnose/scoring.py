"""Scoring: how well a prediction explains the observed tensor, the tiers a cause is claimed at, and
what the observed tensor says by itself (the mean/std it implies, where it leaves the reference).

A cause is claimed only when its prediction explains the observed tensor far better than the
reference itself does:

- ``exact``: the prediction equals the observed tensor bit for bit;
- ``close``: residual NMSE at most 1/10 of the reference's and every element within 1.5 uint8 levels
  (what arithmetic rounding of another implementation leaves);
- ``partial``: residual NMSE at most 1/4 of the reference's.

Levels: |Δ|·255·std; for a prediction in another layout the mean of the preset's std is used.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from parity.diagnose.context import Context
from parity.diagnose.hypotheses import KNOWN_NORMALIZATIONS

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


def evidence_text(t: str, res: dict, base: dict, ref: str) -> str:
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
    cax = ctx.channel_axis
    x = np.moveaxis(ctx.source_values() * ctx.rescale, cax, 0).reshape(len(ctx.mean), -1)
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
    cax = ctx.channel_axis
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
