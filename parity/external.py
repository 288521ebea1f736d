"""`parity compare`: an external dump (e.g. a C++ port's ``inp_raw.bin``) against every impl.

1. check the dump file, run every impl once on the image (with ``--from-stage decode`` all from the
   same decoded pixels, through ``parity.case.inject_decode``); an impl that fails on the image is
   skipped with its reason, all failing is bad input;
2. load the dump (parity.dumps: raw bytes get their dtype and shape from the traces);
3. match it with each trace (``match_dump``): a dump is inp_raw, so it is compared with ``pack`` unless
   it equals another float stage of the same size exactly (or after rounding to its own dtype);
4. rank the impls (exact, exact after rounding, close, differ; pack before other stages; then NMSE);
   when one matches, say where each other impl diverges from it; when none does, diagnose the dump
   against every impl compared on ``pack`` (parity.diagnose) and keep the best explanation.

The result (``ExternalResult``) is data: ``to_dict()`` is the ``--json`` output, rendered as text by
parity.report.external.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from parity.case import DEFAULT_INJECT_DECODER, inject_decode
from parity.compare import StageDiff, compare_traces, diff_arrays, locate
from parity.decode.profiles import DecodeCache
from parity.diagnose import QUICK_HYPOTHESES, TIERS, Diagnosis, diagnose
from parity.dumps import DUMP_STAGES, Dump, load_dump, stage_values
from parity.errors import ParityError
from parity.families.base import summary_of
from parity.files import check_regular
from parity.impls import ImageInput, Impl, get_impl, impls_for
from parity.presets import Preset, get_preset
from parity.schema import SCHEMA_VERSION
from parity.trace import Trace

#: exact and exact-after-rounding are matches; the rest is how close the dump comes
MATCH_RANK = {"exact": 0, "exact-after-rounding": 1, "close": 2, "differ": 3}
MATCHES = ("exact", "exact-after-rounding")


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
    dump: Dump
    matches: tuple[ImplMatch, ...]
    plan: dict | None  # the closest impl's plan (where the shape came from)
    diagnosis: Diagnosis | None = None  # when no impl matches exactly and some impl was compared on pack
    first_divergence: dict | None = None  # {"stage", "source", "evidence"} inferred for the closest impl
    skipped: dict = field(default_factory=dict)  # impl -> why it did not run
    geometry: dict = field(default_factory=dict)  # impl -> its plan's geometry summary

    @property
    def matched(self) -> list[str]:
        return [m.impl for m in self.matches if m.match in MATCHES]

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
            "schema_version": SCHEMA_VERSION,
            "kind": "compare",
            "preset": self.preset,
            "image": self.image,
            "from_stage": self.from_stage,
            "dump": self.dump.to_dict(),
            "passed": self.passed,
            "matched": self.matched,
            "closest": closest.impl if closest else None,
            "geometry": self.geometry,
            "plan": self.plan,
            "impls": [m.to_dict() for m in self.matches],
            "first_divergence": self.first_divergence,
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis is not None else None,
            "skipped": self.skipped,
        }


def round_to(values: np.ndarray, dtype: str) -> np.ndarray | None:
    """float32 values rounded to a dump's narrower dtype, as float64 (None when it is not narrower)."""
    if dtype == "float16":
        return values.astype(np.float32).astype(np.float16).astype(np.float64)
    if dtype == "bfloat16":
        # torch's float32 -> bfloat16 cast: round to nearest even, as the runtimes' converters do
        t = torch.from_numpy(np.array(values, np.float32))
        return t.to(torch.bfloat16).to(torch.float32).numpy().astype(np.float64)
    return None


def exact_kind(ref: np.ndarray, obs: np.ndarray, dtype: str) -> str | None:
    """"exact" when the flat values are equal, "exact-after-rounding" when equal once the stage is
    rounded to the dump's dtype, else None."""
    if np.array_equal(ref, obs):
        return "exact"
    rounded = round_to(ref, dtype)
    return "exact-after-rounding" if rounded is not None and np.array_equal(rounded, obs) else None


def _is_float(dtype: str) -> bool:
    return dtype != "none" and np.dtype(dtype).kind == "f"


def match_dump(dump: Dump, trace: Trace, impl_version: str, std: list[float] | None) -> ImplMatch | None:
    """Compare a dump with the stage of ``trace`` it is: of the stages of its size (the raw reading's
    stage first, then DUMP_STAGES), a float one it equals exactly, else ``pack``, else the first; None
    when no stage has its size."""
    size = dump.values.size
    order = list(DUMP_STAGES)
    if dump.chosen is not None:
        order.remove(dump.chosen.target.stage)
        order.insert(0, dump.chosen.target.stage)
    obs = np.asarray(dump.values, np.float64).ravel()
    candidates = []
    for stage in order:
        rec = trace.get(stage)
        if rec is None or rec.kind == "plan":
            continue
        ref = stage_values(trace, stage)
        if ref.size == size:
            candidates.append((stage, rec, ref))
    if not candidates:
        return None
    # an encoder input is float: equal to uint8 pixels (unnormalized) is a mistake to diagnose on pack
    exact = next((c for c in candidates if _is_float(c[1].dtype) and exact_kind(c[2], obs, dump.dtype)), None)
    stage, rec, ref = exact or next((c for c in candidates if c[0] == "pack"), candidates[0])
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
    elif exact_kind(ref, obs, dump.dtype) == "exact-after-rounding":
        match = "exact-after-rounding"
        notes.append(f"equal to the impl's {rec.dtype} {stage} rounded to {dump.dtype}")
    else:
        match = "close" if diff.max_levels <= 1.0 else "differ"
    return ImplMatch(trace.impl, impl_version, stage, match, diff, "; ".join(notes))


def choose_impls(preset: Preset, impl_names: list[str] | None) -> tuple[list[Impl], dict[str, str]]:
    """The impls to run and the named ones skipped (impl -> why it cannot run this preset)."""
    if not impl_names:
        return impls_for(preset), {}
    impls = [get_impl(n) for n in impl_names]
    skipped = {i.name: i.supports(preset) for i in impls if i.supports(preset)}
    return [i for i in impls if i.name not in skipped], skipped


def run_impls(impls: list[Impl], preset: Preset, image_path: str, from_stage: str | None,
              inject_decoder: str = DEFAULT_INJECT_DECODER) -> tuple[dict[str, Trace], dict[str, str]]:
    """Every impl's trace of ``image_path`` (each file decoded once per profile), and the impls that
    failed on it (impl -> one line). All failing is bad input (ParityError)."""
    cache = DecodeCache()
    image = ImageInput(image_path, inject_decode(image_path, from_stage, inject_decoder, cache), cache)
    traces, failed = {}, {}
    for impl in impls:  # an impl that fails on the image is skipped with its reason
        try:
            traces[impl.name] = impl.run(image, preset)
        except ParityError as e:
            failed[impl.name] = str(e)
        except Exception as e:  # an impl refusing this input is a finding, not a crash
            failed[impl.name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    if not traces:
        reasons = set(failed.values())
        raise ParityError(f"every impl failed on {image_path}: {reasons.pop()}" if len(reasons) == 1 else
                          f"no impl could use {image_path}: " + "; ".join(f"{k}: {v}" for k, v in failed.items()))
    return traces, failed


def compare_external(dump_path: str, preset: Any, image_path: str, impl_names: list[str] | None = None,
                     from_stage: str | None = None,
                     inject_decoder: str = DEFAULT_INJECT_DECODER) -> ExternalResult:
    """`parity compare`: load ``dump_path``, run the impls on ``image_path`` and compare; when none
    matches exactly, diagnose the dump against the impls compared on ``pack``."""
    preset = get_preset(preset) if isinstance(preset, str) else preset
    impls, skipped = choose_impls(preset, impl_names)
    if not impls:
        raise ParityError(f"no impl can run {preset.name}" + (f": {skipped}" if skipped else ""))
    if check_regular(dump_path, "dump") == 0:  # before running any impl
        raise ParityError(f"dump {dump_path} is empty (0 bytes)")
    traces, failed = run_impls(impls, preset, image_path, from_stage, inject_decoder)
    skipped.update({k: f"failed on the image: {v}" for k, v in failed.items()})
    dump = load_dump(dump_path, list(traces.values()))
    std = list(preset.get("image_std", [])) or None
    by_name = {i.name: i for i in impls}
    found = [m for t in traces.values() if (m := match_dump(dump, t, by_name[t.impl].version, std)) is not None]
    # a dump is inp_raw: within a tier, comparisons with pack rank before those with other stages
    found.sort(key=lambda m: (MATCH_RANK[m.match], m.stage != "pack", m.diff.nmse))
    if found and found[0].match in MATCHES:
        ref = traces[found[0].impl]
        found = [found[0]] + [_with_divergence(m, ref, traces[m.impl], std) for m in found[1:]]
    closest = found[0] if found else None
    diagnosis = first = None
    on_pack = [traces[m.impl] for m in found if m.stage == "pack"]
    if closest is not None and closest.match not in MATCHES and on_pack:
        # diagnose against every impl compared on pack; keep the one whose top cause explains the dump best
        diagnosis = best_diagnosis(dump, on_pack, preset, image_path, by_name)
        first = _infer_divergence(diagnosis)
    elif closest is not None and closest.match not in MATCHES:
        first = {"stage": closest.stage, "source": "comparison",
                 "evidence": f"compared with {closest.stage}; diagnosis needs a pack-sized dump"}
    plan = traces[closest.impl].plan if closest and "plan" in traces[closest.impl] else None
    geometry = {name: summary_of(t.plan) for name, t in traces.items() if "plan" in t}
    return ExternalResult(preset.name, image_path, from_stage, dump, tuple(found), plan, diagnosis, first, skipped,
                          geometry)


def _with_divergence(m: ImplMatch, matched: Trace, other: Trace, std: list[float] | None) -> ImplMatch:
    td = compare_traces(matched, other, std)
    first = td.first_divergence
    info = {"against": matched.impl, "first_divergence": first.name if first is not None else None,
            "consequences": td.consequences}
    return ImplMatch(**{**m.__dict__, "diverges_from_match": info})


def best_diagnosis(dump: Dump, candidates: list[Trace], preset: Preset, image_path: str,
                   by_name: dict[str, Impl]) -> Diagnosis:
    """Diagnose against each distinct pack (impls with identical packs once): first the quick
    hypotheses everywhere, stopping at an exact explanation; then all hypotheses; the best wins."""
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
    observed = np.asarray(dump.values, np.float64).ravel()
    # fewest differing elements first: the likeliest to be explained exactly, which ends the search
    for t in sorted(distinct, key=lambda t: int(np.count_nonzero(stage_values(t, "pack") != observed))):
        full.append(diagnose(dump.values, t, preset, image_path, by_name[t.impl]))
        if full[-1].top is not None and full[-1].top.match == "exact":
            break
    return min(full, key=_explained)


def _explained(diagnosis: Diagnosis) -> tuple:
    """Sort key: a diagnosis whose top cause matches best first; the closest reference breaks ties."""
    top = diagnosis.top
    if top is None:
        return (len(TIERS), diagnosis.baseline["nmse"])
    return (TIERS.index(top.match), top.nmse)


def _infer_divergence(diagnosis: Diagnosis) -> dict | None:
    if diagnosis.top is not None:
        return {"stage": diagnosis.top.stage, "source": "diagnosis", "evidence": diagnosis.top.title}
    if diagnosis.localized:
        return {**diagnosis.localized, "source": "localization"}
    return None
