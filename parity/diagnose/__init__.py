"""Why does a tensor differ from a reference trace? A ranked list of likely causes, each with evidence.

Method: every hypothesis (parity.diagnose.hypotheses) *predicts* the tensor the reference pipeline
would have produced with that one mistake (channels reversed, no mean/std, another resize kernel, pad
colour, tile order...); each prediction is scored against the observed tensor
(parity.diagnose.scoring) and claimed as a cause only at a tier (exact / close / partial). Ranked by
(tier, residual NMSE, order of HYPOTHESES). Nothing explains it -> no cause: "unknown".

- ``diagnose(observed, ref, preset, ...)``: a pack-sized tensor (any shape; compared in flat C order
  like inp_raw bytes) against the reference trace; the context it reads is parity.diagnose.context.
- ``diagnose_traces(a, b, ...)``: trace ``b`` against baseline ``a`` (the decode stage first).
- ``diagnose_decode(a, b, ...)``: decoded pixels only (orientation, channel order, alpha policy).

Rendering is in parity.report.external (``render_diagnosis_text`` of ``Diagnosis.to_dict()``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from parity.decode import POLICIES, decode_pil, exif_orientation, open_pil, read_bytes
from parity.diagnose.context import Context, make_context, resized_with
from parity.diagnose.hypotheses import HYPOTHESES, KNOWN_NORMALIZATIONS, QUICK_HYPOTHESES
from parity.diagnose.scoring import TIERS, Cause, Diagnosis, affine_fit, evidence_text, localize, score, tier
from parity.kernels.registry import RESAMPLE_KERNELS
from parity.trace import Trace

__all__ = ["EXIF_TRANSFORMS", "HYPOTHESES", "KNOWN_NORMALIZATIONS", "QUICK_HYPOTHESES", "TIERS", "Cause", "Diagnosis",
           "diagnose", "diagnose_decode", "diagnose_traces"]


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
            cause = Cause(name, stage, title, evidence_text(t, res, base, ref.impl), t, res["nmse"], res["max_levels"],
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
    pred = ((ctx.source_values() * ctx.rescale - ctx.per_channel(mean)) / ctx.per_channel(std)).astype(np.float32)
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
    evidence = f"{evidence_text(t, res, base, ctx.ref.impl)}; affine fit residual RMS {max(fit['rms_residual']):.3g}"
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
        for name in RESAMPLE_KERNELS:
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
