"""``llamacpp``: llama.cpp's multimodal preprocessing (tools/mtmd) at commit 0c1e570, configured from
the ``clip.*`` metadata of an mmproj GGUF.

Sources (ggml-org/llama.cpp 0c1e570, as vendored by llama-cpp-python 0.3.36): ``tools/mtmd/mtmd-image.cpp``
(resampler, pad, preprocessors), ``clip.cpp`` (hparams per projector, ``inp_raw`` layout),
``mtmd.cpp`` (projector -> preprocessor, chunk order), ``mtmd-helper.cpp`` (stb decoding).

The metadata comes from ``preset.overlay("gguf")`` (what the official converter writes for that
checkpoint, ``parity/presets/overlays/gguf/<preset>.toml``) or, for a preset derived from a file by
``parity.gguf.preset_from_gguf``, from the preset's own values (keyed by GGUF key names).

Stages: ``decode`` (stb), ``plan``, ``resize`` (each ``img_tool::resize`` result before its pad, in call
order), ``pad`` (the canvases, when a pad was drawn), ``tiles`` (uint8 chunks in mtmd's chunk order,
for the slicing preprocessors), ``normalize`` (float32 HWC per chunk: ``(x / 255 - mean) / std``) and
``pack`` (``inp_raw``: each chunk CHW planar, chunks concatenated in order).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from parity.arrays import one_or_tuple, stack_or_tuple
from parity.decode import Decoded
from parity.errors import ParityError
from parity.impls.base import Impl
from parity.impls.llamacpp.deepseekocr import preprocess_deepseekocr
from parity.impls.llamacpp.dyn_size import preprocess_dyn_size
from parity.impls.llamacpp.fixed_size import preprocess_fixed_size
from parity.impls.llamacpp.hparams import ClipHparams, hparams_from_gguf
from parity.impls.llamacpp.idefics3 import preprocess_idefics3
from parity.impls.llamacpp.internvl import preprocess_internvl
from parity.impls.llamacpp.lfm2 import preprocess_lfm2
from parity.impls.llamacpp.llava_uhd import preprocess_llava_uhd
from parity.impls.llamacpp.plans import family_plan
from parity.impls.llamacpp.resize import Preprocessed
from parity.impls.llamacpp.step3vl import preprocess_step3vl
from parity.kernels.clip_legacy import normalize_llamacpp_legacy
from parity.presets import Preset
from parity.trace import TraceBuilder, sealed

COMMIT = "0c1e570"

#: preprocessor name (after mtmd_image_preprocessor_<name>) -> function
PREPROCESSORS: dict[str, Callable[[np.ndarray, ClipHparams], Preprocessed]] = {
    "fixed_size": preprocess_fixed_size,
    "llava_uhd": preprocess_llava_uhd,
    "dyn_size": preprocess_dyn_size,
    "idefics3": preprocess_idefics3,
    "internvl": preprocess_internvl,
    "step3vl": preprocess_step3vl,
    "lfm2": preprocess_lfm2,
    "deepseekocr": preprocess_deepseekocr,
}
SLICING = ("llava_uhd", "idefics3", "internvl", "lfm2", "deepseekocr", "step3vl")


def normalize_llamacpp(img: np.ndarray, mean: tuple, std: tuple) -> np.ndarray:
    """``clip_image_f32::from_u8`` then ``normalize``: float32 ``(x / 255 - mean) / std``, HWC: the float32
    operations of clip.cpp's older ``normalize_image_u8_to_f32``, so that kernel computes it (on whole rows,
    ~5x faster than broadcasting a 3-vector)."""
    return normalize_llamacpp_legacy(img, mean, std)


def pack_chw(planes: tuple[np.ndarray, ...]) -> np.ndarray | tuple[np.ndarray, ...]:
    """Each HWC float image -> CHW planar (``clip_image_batch_encode`` fills ``inp_raw`` so); stacked
    when all chunks share a size, else a tuple (the bytes are the same concatenation either way)."""
    return stack_or_tuple(tuple(np.ascontiguousarray(p.transpose(2, 0, 1)) for p in planes))


class LlamaCppImpl(Impl):
    name = "llamacpp"
    default_decoder = "stb"
    version = f"llama.cpp {COMMIT} (tools/mtmd)"
    description = ("llama.cpp mtmd preprocessing (mtmd-image.cpp, clip.cpp, mtmd.cpp) at commit "
                   f"{COMMIT}, configured from the mmproj's clip.* metadata; numpy port, stb decode")

    def supports(self, preset: Preset) -> str | None:
        values = preset.clip_metadata()
        if values is None:
            return "preset has no gguf overlay (clip.* metadata of its mmproj)"
        try:
            hparams_from_gguf(values)
        except ParityError as e:
            return str(e)
        return None

    def hparams(self, preset: Preset) -> ClipHparams:
        values = preset.clip_metadata()
        if values is None:
            raise ParityError(f"{self.name} cannot run {preset.name}: preset has no gguf overlay")
        return hparams_from_gguf(values)

    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        hp = self.hparams(preset)
        out = PREPROCESSORS[hp.preprocessor](decoded.rgb, hp)
        plan = family_plan(decoded.rgb.shape[:2], out, hp)
        calls = "; ".join(f"{s.role} {s.plan['target'][0]}x{s.plan['target'][1]} {s.plan['filter']}"
                          + (f" pad {s.plan['pad']}" if "inner" in s.plan else "") for s in out.steps)
        rec.add("plan", plan.to_dict(), "plan",
                note=f"mtmd preprocessor {hp.preprocessor}, projector {hp.projector}; resize calls (w x h): {calls}")
        rec.add("resize", one_or_tuple(tuple(s.resized for s in out.steps)), "HWC",
                note="img_tool::resize results before padding: " + ", ".join(s.role for s in out.steps))
        padded = tuple(s.padded for s in out.steps if s.padded is not None)
        if padded:
            rec.add("pad", one_or_tuple(padded), "HWC",
                    note="padded: " + ", ".join(s.role for s in out.steps if s.padded is not None))
        if hp.preprocessor in SLICING:
            rec.add("tiles", sealed(stack_or_tuple(out.chunks)), "chunks,H,W,C",
                    note="chunk order: " + ", ".join(out.chunk_roles))
        normalized = out.normalized or tuple(normalize_llamacpp(c, hp.image_mean, hp.image_std) for c in out.chunks)
        rec.add("normalize", sealed(stack_or_tuple(normalized)), "chunks,H,W,C")
        rec.add("pack", sealed(pack_chw(normalized)), "chunks,C,H,W (inp_raw, chunks in order)",
                note="chunk order: " + ", ".join(out.chunk_roles))
