"""llama.cpp's own geometry, in each family's plan type.

The preprocessors record what mtmd-image.cpp decided in llama.cpp's terms (sizes ``[w, h]``, grids
``[cols, rows]``, resize calls with their inner size and offset); here those numbers fill the family's
plan fields (``[h, w]``, ``[rows, cols]``) with llama.cpp's own token counts (mtmd 0c1e570
``clip_n_output_tokens`` and ``mtmd.cpp`` ``init_vision``/``add_media``), so a llama.cpp plan compares
key by key with the other impls'. Cited per family in ``parity.families``.
"""

from __future__ import annotations

from collections.abc import Callable

from parity.errors import ParityError
from parity.families import gemma3, gemma4, idefics3, internvl, llama4, llava, llava_next, minicpmv, pixtral, qwen2_vl
from parity.families.base import Plan, Tokens
from parity.impls.llamacpp.deepseekocr import plan_deepseekocr
from parity.impls.llamacpp.glm4v import plan_glm4v
from parity.impls.llamacpp.hparams import ClipHparams, family_of
from parity.impls.llamacpp.kimivl import plan_kimivl
from parity.impls.llamacpp.lfm2 import plan_lfm2
from parity.impls.llamacpp.nemotron import plan_nemotron
from parity.impls.llamacpp.resize import Preprocessed
from parity.impls.llamacpp.step3vl import plan_step3vl

#: MiniCPM-V resampler queries per image by minicpmv_version (``clip_n_output_tokens``)
MINICPMV_QUERY_NUM = {2: 96, 3: 64, 4: 64, 5: 64, 6: 64, 100045: 64}


def _hw(wh) -> tuple[int, int]:
    return int(wh[1]), int(wh[0])


def _resize(step: dict) -> tuple[tuple[int, int], tuple[int, int], tuple[int, int]]:
    """(resized [h, w], canvas [h, w], offset [top, left]) of one ``img_tool::resize`` call."""
    canvas = _hw(step["target"])
    if "inner" in step:
        return _hw(step["inner"]), canvas, (int(step["offset"][1]), int(step["offset"][0]))
    return canvas, canvas, (0, 0)


def _steps(out: Preprocessed) -> dict[str, dict]:
    return {s.role: s.plan for s in out.steps}


def _grid(out: Preprocessed) -> tuple[int, int]:
    """[rows, cols] of the slices; [0, 0] when only the overview is encoded."""
    cols, rows = out.plan.get("grid", (0, 0))
    return (int(rows), int(cols)) if out.plan.get("slices") else (0, 0)


def _tile(hp: ClipHparams) -> int:
    """Tokens per encoded image: (image_size / patch)^2 / n_merge^2."""
    return (hp.image_size // hp.patch_size) ** 2 // (hp.n_merge * hp.n_merge)


def plan_llava(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    resized, canvas, offset = _resize(out.steps[0].plan)
    return llava.make_plan(image_hw, image_hw, resized, (0, 0, *canvas), llava.tokens_llamacpp(
        hp.image_size, hp.patch_size, hp.projector), pad_offset=offset, canvas=canvas)


def plan_llava_next(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    grid, steps = _grid(out), _steps(out)
    tile = hp.image_size
    if "refined" in steps and grid != (0, 0):
        resized, best, offset = _resize(steps["refined"])
    else:
        resized = best = (tile, tile)
        offset = (0, 0)
    tokens = llava_next.tokens_llamacpp(len(out.chunks), tile, hp.patch_size)
    return llava_next.make_plan(image_hw, best, resized, offset, grid, tile, hp.ov_img_first, tokens)


def plan_minicpmv(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    grid = _grid(out)
    source = _hw(out.plan["overview"])
    refined = _hw(out.plan["refined"]) if grid != (0, 0) else (0, 0)
    tokens = minicpmv.tokens_llamacpp(grid, MINICPMV_QUERY_NUM.get(hp.minicpmv_version, 64))
    return minicpmv.make_plan(image_hw, source, grid, refined, hp.patch_size, hp.ov_img_first, tokens)


def plan_llama4(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    grid, steps = _grid(out), _steps(out)
    if "refined" in steps and grid != (0, 0):
        resized, canvas, _ = _resize(steps["refined"])
    else:
        grid, resized = (1, 1), (hp.image_size, hp.image_size)
        canvas = resized
    return llama4.make_plan(image_hw, canvas, resized, grid, llama4.tokens_llamacpp(len(out.chunks), _tile(hp)))


def plan_qwen(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    resized, canvas, offset = _resize(out.steps[0].plan)
    return qwen2_vl.make_plan(image_hw, resized, hp.patch_size, qwen2_vl.tokens_llamacpp(canvas, hp.patch_size),
                              canvas=canvas, pad_offset=offset)


def plan_pixtral(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    resized, canvas, offset = _resize(out.steps[0].plan)
    grid = (canvas[0] // hp.patch_size // hp.n_merge, canvas[1] // hp.patch_size // hp.n_merge)
    return pixtral.make_plan(image_hw, resized, resized, hp.patch_size, pixtral.tokens_llamacpp(grid),
                             canvas=canvas, pad_offset=offset)


def plan_gemma3(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    resized, canvas, offset = _resize(out.steps[0].plan)
    return gemma3.make_plan(image_hw, resized, (), gemma3.tokens_llamacpp(_tile(hp)), canvas=canvas, pad_offset=offset)


def plan_gemma4(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    resized, canvas, _ = _resize(out.steps[0].plan)
    n = (canvas[0] // hp.patch_size) * (canvas[1] // hp.patch_size) // (hp.n_merge * hp.n_merge)
    return gemma4.make_plan(image_hw, canvas, hp.patch_size, hp.image_max_pixels // hp.patch_size**2,
                            Tokens(n + 2, n))


def plan_internvl(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    grid, steps = _grid(out), _steps(out)
    if "refined" in steps and grid != (0, 0):
        resized, canvas, offset = _resize(steps["refined"])  # the image drawn, padded onto the tile grid
    else:
        grid, resized, canvas, offset = (1, 1), (hp.image_size, hp.image_size), None, (0, 0)
    return internvl.make_plan(image_hw, resized, grid, len(out.chunks),
                              internvl.tokens_llamacpp(len(out.chunks), _tile(hp)), canvas=canvas, pad_offset=offset)


def plan_idefics3(image_hw, out: Preprocessed, hp: ClipHparams) -> Plan:
    steps = _steps(out)
    resized = _hw(steps["resized"]["target"]) if "resized" in steps else _hw(out.plan["refined"])
    return idefics3.make_plan(image_hw, resized, _hw(out.plan["refined"]), _grid(out), _tile(hp))


PLANS: dict[str, Callable[[tuple[int, int], Preprocessed, ClipHparams], Plan]] = {
    "llava": plan_llava,
    "llava-next": plan_llava_next,
    "minicpmv": plan_minicpmv,
    "llama4": plan_llama4,
    "qwen2-vl": plan_qwen,
    "qwen3-vl": plan_qwen,
    "pixtral": plan_pixtral,
    "gemma3": plan_gemma3,
    "gemma4": plan_gemma4,
    "idefics3": plan_idefics3,
    "internvl": plan_internvl,
    "kimi-vl": plan_kimivl,
    "lfm2-vl": plan_lfm2,
    "glm4v": plan_glm4v,
    "deepseek-ocr": plan_deepseekocr,
    "nemotron-vl": plan_nemotron,
    "step3-vl": plan_step3vl,
}


def family_plan(image_hw: tuple[int, int], out: Preprocessed, hp: ClipHparams) -> Plan:
    """The plan of the family llama.cpp's projector belongs to (it dispatches by projector, not preset)."""
    family = family_of(hp)
    try:
        return PLANS[family](image_hw, out, hp)
    except KeyError:
        raise ParityError(f"llama.cpp's {hp.preprocessor} geometry has no plan mapping for family {family!r} "
                          f"(mapped: {', '.join(PLANS)})") from None
