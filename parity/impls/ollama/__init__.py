"""``ollama``: Ollama's Go image preprocessing at commit f63eea3 (the last with its Go engine; 9db4bdb
removed it), with golang.org/x/image v0.22.0 (its go.mod pin), ported bit-exact to vectorized numpy.

Sources: github.com/ollama/ollama @ f63eea3 ``model/imageproc/images.go``, ``model/models/<model>/``
(``process_image.go``/``imageproc.go``/``imageprocessor.go`` and ``EncodeMultimodal`` in
``model.go``), ``model/model.go`` (registered decoders); github.com/golang/image @ v0.22.0
``draw/scale.go``, ``draw/impl.go``. One module per model pipeline; presets map to pipelines by
family (and by name where a family holds checkpoints Ollama treats differently).

Decode is Go's ``image.Decode`` (``parity.decode.go``): exact for PNG and JPEG (decoder profile
``go1.26``, the toolchain f63eea3 builds with; ``go1.25`` for releases built with older Go, selectable
with ``--decoder ollama=go1.25``), approximate (Pillow) for BMP/TIFF/WebP, an error for GIF. Then, as
each pipeline does, ``imageproc.Composite`` onto white or not (``prepare``). With an injected decode,
the pixels become an opaque ``*image.RGBA`` and every later stage is exact.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from parity.decode import Decoded
from parity.decode.go import GoImage, go_image_from_rgb
from parity.impls.base import Impl
from parity.presets import Preset
from parity.trace import TraceBuilder

from . import deepseekocr as deepseekocr_pipeline
from . import gemma3, gemma4, llama4, mistral3, mllama, qwen
from . import glmocr as glmocr_pipeline
from . import lfm2 as lfm2_pipeline
from . import nemotronh as nemotronh_pipeline
from .imageproc import pipeline_input

COMMIT = "f63eea3"
XIMAGE = "v0.22.0"

#: preset family -> (ollama model directory, composites onto white first, stage recipe fn(img, preset, rec))
PIPELINES: dict[str, tuple[str, bool, Callable[[GoImage, Preset, TraceBuilder], None]]] = {
    "mllama": ("mllama", False, mllama.stages_mllama),
    "gemma3": ("gemma3", True, gemma3.stages_gemma3),
    "qwen2-vl": ("qwen25vl", True, qwen.stages_qwen25vl),
    "qwen3-vl": ("qwen3vl", True, qwen.stages_qwen3vl),
    "pixtral": ("mistral3", True, mistral3.stages_mistral3),
    "llama4": ("llama4", True, llama4.stages_llama4),
    "gemma4": ("gemma4", False, gemma4.stages_gemma4),
    "lfm2-vl": ("lfm2", True, lfm2_pipeline.stages_lfm2),
    "glm4v": ("glmocr", True, glmocr_pipeline.stages_glmocr),
    "deepseek-ocr": ("deepseekocr", False, deepseekocr_pipeline.stages_deepseekocr),
    "nemotron-vl": ("nemotronh", True, nemotronh_pipeline.stages_nemotronh),
}

#: presets of a mapped family that Ollama's engine has no model for
UNSERVED = {"qwen2-vl": "Ollama f63eea3 has a qwen25vl model, not Qwen2-VL",
            "glm-4.1v": "Ollama f63eea3 converts GLM-OCR only (glmocr); GLM-4.1V (Glm4vForConditionalGeneration) "
                        "has no model"}


class OllamaImpl(Impl):
    name = "ollama"
    version = f"ollama {COMMIT} (x/image {XIMAGE})"
    description = (f"Ollama's Go image preprocessing (github.com/ollama/ollama @ {COMMIT}, model/imageproc "
                   f"+ model/models/*; golang.org/x/image/draw {XIMAGE}), ported bit-exact")

    default_decoder = "go1.26"

    def supports(self, preset: Preset) -> str | None:
        if preset.family not in PIPELINES:
            return f"Ollama's Go engine has no pipeline for family {preset.family!r}"
        if preset.name in UNSERVED:
            return UNSERVED[preset.name]
        return None

    def prepare(self, decoded: Decoded, preset: Preset) -> Decoded:
        """The model's own step between ``image.Decode`` and its pipeline: Composite onto white, or not."""
        img = decoded.native
        if img is None:  # injected pixels: an opaque *image.RGBA
            img = go_image_from_rgb(decoded.rgb, "*image.RGBA (injected)")
        _, composite, _ = PIPELINES[preset.family]
        seen, rgb, note = pipeline_input(img, composite)
        return replace(decoded, rgb=rgb, native=seen, info={**decoded.info, "prepared": note})

    def record_stages(self, decoded: Decoded, preset: Preset, rec: TraceBuilder) -> None:
        _, _, recipe = PIPELINES[preset.family]
        recipe(decoded.native, preset, rec)
