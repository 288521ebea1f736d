"""One case = one (preset, image): run the chosen impls, compare each against a baseline.

Run first, compare later (as Polygraphy's Comparator does): traces are produced independently, then
every non-baseline trace is diffed against the baseline stage by stage. An impl that raises on an
input (e.g. a processor refusing a 1x1 image, or Go's PNG decoder refusing a bad chunk CRC that stb
and Pillow accept) is recorded as failed with its one-line message, so one broken impl does not hide
what the others did. When every impl failed, the input itself is unusable (``CaseResult.unusable``):
the CLI reports that as bad input (exit 2) with the impls' reasons, not as a divergence.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from parity.compare import TraceDiff, compare_traces
from parity.decode import Decoded
from parity.decode.profiles import DecodeCache, decode_file, get_profile
from parity.errors import ParityError
from parity.families.base import summary_of
from parity.impls import IMPLS, ImageInput, Impl, get_impl, impls_for
from parity.impls.base import injected
from parity.presets import Preset
from parity.trace import FULL_HASHES, Trace

#: stages that ``--from-stage`` can inject (the same pixels fed to every impl)
INJECTABLE = ("decode",)
#: who decodes the injected pixels unless told otherwise (``--inject-decoder``)
DEFAULT_INJECT_DECODER = "pil-hf"


@dataclass
class CaseResult:
    preset: Preset
    image: str
    baseline: str
    traces: dict[str, Trace] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    diffs: dict[str, TraceDiff] = field(default_factory=dict)
    injected: str | None = None
    diagnoses: dict[str, Any] = field(default_factory=dict)  # impl -> Diagnosis (with --diagnose)

    @property
    def passed(self) -> bool:
        return not self.errors and all(d.passed for d in self.diffs.values())

    @property
    def unusable(self) -> str | None:
        """When no impl produced a trace: one line with their reasons (once when they all agree)."""
        if self.traces or not self.errors:
            return None
        reasons = set(self.errors.values())
        if len(reasons) == 1:
            return f"every impl failed on {self.image}: {reasons.pop()}"
        return f"no impl could use {self.image}: " + "; ".join(f"{k}: {v}" for k, v in self.errors.items())

    def geometry(self) -> dict[str, dict]:
        """Per impl, the plan's geometry summary: resized size, canvas, grid, image count and tokens."""
        return {name: summary_of(t.plan) for name, t in self.traces.items() if "plan" in t}

    def to_dict(self, hashes: tuple[str, ...] = FULL_HASHES) -> dict[str, Any]:
        """JSON-able case (no array values); each stage with the named ``hashes``."""
        return {
            "preset": self.preset.name,
            "family": self.preset.family,
            "image": self.image,
            "baseline": self.baseline,
            "injected_from_stage": self.injected,
            "passed": self.passed,
            "geometry": self.geometry(),
            "impls": {name: {"version": IMPLS[name].version if name in IMPLS else "",
                             "trace": t.to_dict(hashes=hashes)} for name, t in self.traces.items()},
            "errors": self.errors,
            "diffs": {name: d.to_dict() for name, d in self.diffs.items()},
            "diagnoses": {name: d.to_dict() for name, d in self.diagnoses.items()},
        }


def select_impls(preset: Preset, names: list[str] | None) -> list[Impl]:
    """The impls to run: the named ones (each must support the preset) or every one that does."""
    if not names:
        chosen = impls_for(preset)
        if not chosen:
            raise ParityError(f"no impl supports preset {preset.name!r}")
        return chosen
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise ParityError(f"impl {dup[0]!r} is named twice; name each impl once")
    chosen = [get_impl(n) for n in names]
    for impl in chosen:
        reason = impl.supports(preset)
        if reason:
            raise ParityError(f"impl {impl.name!r} cannot run preset {preset.name!r}: {reason}")
    return chosen


def inject_decode(image_path: str, from_stage: str | None, decoder: str = DEFAULT_INJECT_DECODER,
                  cache: DecodeCache | None = None) -> Decoded | None:
    """The one stage-injection path: with ``--from-stage decode``, the pixels every impl starts from,
    decoded by the named profile (``pil-hf``: Pillow/libjpeg-turbo; ``stb``: llama.cpp's; ``go1.26``:
    Ollama's...). None without injection."""
    if from_stage is None:
        return None
    if from_stage not in INJECTABLE:
        raise ParityError(f"--from-stage {from_stage!r} is not injectable; valid: {', '.join(INJECTABLE)}")
    get_profile(decoder)
    return injected(decode_file(image_path, decoder, cache).rgb, decoder)


#: diagnose(baseline trace, trace, preset, image path, baseline impl) -> Diagnosis (``parity.diagnose``)
Diagnoser = Callable[[Trace, Trace, Preset, str, Impl], Any]


def run_case(image_path: str, preset: Preset, impl_names: list[str] | None = None,
             baseline: str | None = None, from_stage: str | None = None, diagnose: Diagnoser | None = None,
             decoders: Mapping[str, str] | None = None, inject_decoder: str = DEFAULT_INJECT_DECODER,
             cache: DecodeCache | None = None, compare: bool = True) -> CaseResult:
    """Run the impls on one image (each decoding it with its own profile, or ``decoders[impl]``; every
    file decoded once per profile through ``cache``), then compare each against the baseline; with a
    ``diagnose`` function (``parity.diagnose.diagnose_traces``), rank the causes of each divergence.
    ``compare=False`` records the traces only (a golden check or update compares with the store instead)."""
    impls = select_impls(preset, impl_names)
    names = [i.name for i in impls]
    if baseline is None:
        baseline = "reference" if "reference" in names else names[0]
    elif baseline not in names:
        raise ParityError(f"baseline {baseline!r} is not among the impls run ({', '.join(names)})")
    cache = cache if cache is not None else DecodeCache()
    for name, profile in (decoders or {}).items():
        get_impl(name)
        get_profile(profile)
    image = ImageInput(image_path, inject_decode(image_path, from_stage, inject_decoder, cache), cache,
                       dict(decoders or {}))
    result = CaseResult(preset, image.label, baseline, injected=from_stage)
    for impl in impls:
        try:
            result.traces[impl.name] = impl.run(image, preset)
        except ParityError as e:  # BadImage too: each runtime's decoder has its own strictness
            result.errors[impl.name] = str(e)
        except Exception as e:  # an impl refusing this input is a finding, not a crash
            result.errors[impl.name] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    base = result.traces.get(baseline)
    if base is not None and compare:
        std = preset.get("image_std")
        for name, tr in result.traces.items():
            if name != baseline:
                result.diffs[name] = compare_traces(base, tr, std)
    if diagnose is not None:
        for name, d in result.diffs.items():
            if not d.passed:
                result.diagnoses[name] = diagnose(base, result.traces[name], preset, image_path, IMPLS[baseline])
    return result
