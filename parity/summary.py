"""How each impl relates to the baseline, in one word, and the matrix summary the reports render.

Classes (``CLASS_ORDER``, most fundamental first, the order reports list divergences in): ``error`` (the
impl raised), ``geometry`` (the plan differs: a size, a grid, a token count), ``decode``, ``shape``,
``pixels`` (uint8 resize/pad/tiles), ``float`` (normalize/pack), ``side`` (side outputs), ``identical``.
"""

from __future__ import annotations

from typing import Any

from parity.compare import ABSENT

STAGE_CLASS = {"decode": "decode", "plan": "geometry", "resize": "pixels", "pad": "pixels", "tiles": "pixels",
               "normalize": "float", "pack": "float"}
#: divergence classes, most fundamental first (reports list geometry first)
CLASS_ORDER = ("error", "geometry", "decode", "shape", "pixels", "float", "side", "identical")



def effective_first(diff: dict | None) -> dict | None:
    """The first stage that differs (status other than equal / missing / incomparable), or None."""
    if not diff or diff.get("first_divergence") is None:
        return None
    return next((s for s in diff["stages"] if s.get("status") not in ("missing", "incomparable", "equal")), None)


def divergence_class(diff: dict | None, error: str | None = None) -> str:
    """One word for how an impl's trace relates to the baseline's: see CLASS_ORDER."""
    if error is not None:
        return "error"
    stage = effective_first(diff)
    if stage is None:
        return "identical"
    if stage.get("kind") == "plan":
        return "geometry"
    if stage.get("status") == "shape":
        return "shape"
    return STAGE_CLASS.get(stage["name"], "side")


def stage_detail(stage: dict) -> str:
    """One line on how a stage differs (for tables): plan keys, shapes, or counts and levels."""
    st = stage.get("status")
    if stage.get("kind") == "plan":
        pd = stage.get("plan_diff", {})
        shared = [k for k, v in pd.items() if ABSENT not in (v.get("a"), v.get("b"))]
        only = [k for k in pd if k not in shared]
        text = "plan differs in " + ", ".join(f"{k}: {pd[k]['a']!r} vs {pd[k]['b']!r}" for k in shared[:4])
        if only:
            text += f"; keys recorded by one side only: {', '.join(only[:6])}" + (" …" if len(only) > 6 else "")
        return text[:400]
    if st == "shape":
        return f"shape {stage['shape'][0]} vs {stage['shape'][1]}" + (f" ({stage['note']})" if stage.get("note") else "")
    if st == "incomparable":
        return stage.get("note", "not comparable")
    if st == "missing":
        return stage.get("note", "missing")
    if "n_diff" in stage:
        where = stage.get("worst_at")
        return (f"{stage['n_diff']}/{stage['n']} elements differ, max |Δ| {stage['max_levels']:.3g} uint8 levels, "
                f"mean {stage['mean_levels']:.3g} levels" + (f", worst at {where}" if where else ""))
    return st or ""


def summarize(results: dict[str, Any]) -> dict[str, Any]:
    """Counts per (preset, impl), and the divergences grouped by (preset, impl, first stage), ordered
    geometry first, each with the images that show it and the worst numbers seen."""
    per_cell: dict[str, dict[str, dict[str, int]]] = {}
    groups: dict[tuple, dict[str, Any]] = {}
    totals = {c: 0 for c in CLASS_ORDER}
    for case in results["cases"]:
        impl_names = list(case.get("impls", {})) + [n for n in case.get("errors", {}) if n not in case.get("impls", {})]
        for impl in impl_names:
            if impl == case.get("baseline"):
                continue
            cls = divergence_class(case["diffs"].get(impl), case["errors"].get(impl))
            if impl not in case["diffs"] and impl not in case["errors"]:
                continue
            cell = per_cell.setdefault(case["preset"], {}).setdefault(impl, {c: 0 for c in CLASS_ORDER})
            cell[cls] += 1
            totals[cls] += 1
            if cls == "identical":
                continue
            diff = case["diffs"].get(impl) or {}
            eff = effective_first(diff)
            first = eff["name"] if eff else "(run)"
            g = groups.setdefault((case["preset"], case["baseline"], impl, first), {
                "preset": case["preset"], "baseline": case["baseline"], "impl": impl, "stage": first,
                "class": cls, "images": [], "max_levels": 0.0, "examples": []})
            g["images"].append(case["image"])
            stage = eff
            if stage is not None:
                g["max_levels"] = max(g["max_levels"], float(stage.get("max_levels") or 0.0))
                if len(g["examples"]) < 3:
                    g["examples"].append({"image": case["image"], "detail": stage_detail(stage)})
            elif cls == "error":
                if len(g["examples"]) < 3:
                    g["examples"].append({"image": case["image"], "detail": case["errors"][impl]})
    order = {c: i for i, c in enumerate(CLASS_ORDER)}
    stage_order = {s: i for i, s in enumerate(STAGE_CLASS)}
    divergences = sorted(groups.values(), key=lambda g: (order[g["class"]], stage_order.get(g["stage"], 99),
                                                          -len(g["images"]), g["preset"], g["impl"]))
    return {"totals": totals, "per_preset_impl": per_cell, "divergences": divergences,
            "cases": len(results["cases"]), "presets": len(results["presets"]), "images": len(results["images"])}
