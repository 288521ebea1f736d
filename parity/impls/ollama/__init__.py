"""``ollama``: Ollama's Go image preprocessing at commit f63eea3 (the last with its Go engine; 9db4bdb
removed it), with golang.org/x/image v0.22.0 (its go.mod pin), ported bit-exact to vectorized numpy.

Sources: github.com/ollama/ollama @ f63eea3 ``model/imageproc/images.go``, ``model/models/<model>/``
(``process_image.go``/``imageproc.go``/``imageprocessor.go`` and ``EncodeMultimodal`` in
``model.go``), ``model/model.go`` (registered decoders); github.com/golang/image @ v0.22.0
``draw/scale.go``, ``draw/impl.go``. One module per model pipeline; presets map to pipelines by
family (and by name where a family holds checkpoints Ollama treats differently).

Decode is Go's ``image.Decode`` (``parity.decode.go``): exact for PNG, approximate (Pillow) for
JPEG/BMP/TIFF/WebP, an error for GIF. With an injected decode, the pixels become an opaque
``*image.RGBA`` and every later stage is exact.
"""

from __future__ import annotations

from collections.abc import Callable

from parity.decode.go import GoImage, decode_go, go_image_from_rgb
from parity.errors import ParityError
from parity.impls.base import ImageInput, Impl
from parity.presets import Preset
from parity.trace import Trace, TraceBuilder

from . import gemma3, gemma4, llama4, mistral3, mllama, qwen

COMMIT = "f63eea3"
XIMAGE = "v0.22.0"

#: preset family -> (ollama model directory, stage recipe)
PIPELINES: dict[str, tuple[str, Callable]] = {
    "mllama": ("mllama", mllama.stages_mllama),
    "gemma3": ("gemma3", gemma3.stages_gemma3),
    "qwen2-vl": ("qwen25vl", qwen.stages_qwen25vl),
    "qwen3-vl": ("qwen3vl", qwen.stages_qwen3vl),
    "pixtral": ("mistral3", mistral3.stages_mistral3),
    "llama4": ("llama4", llama4.stages_llama4),
    "gemma4": ("gemma4", gemma4.stages_gemma4),
}

#: presets of a mapped family that Ollama's engine has no model for
UNSERVED = {"qwen2-vl": "Ollama f63eea3 has a qwen25vl model, not Qwen2-VL"}


class OllamaImpl(Impl):
    name = "ollama"
    version = f"ollama {COMMIT} (x/image {XIMAGE})"
    description = (f"Ollama's Go image preprocessing (github.com/ollama/ollama @ {COMMIT}, model/imageproc "
                   f"+ model/models/*; golang.org/x/image/draw {XIMAGE}), ported bit-exact")

    def supports(self, preset: Preset) -> str | None:
        if preset.family not in PIPELINES:
            return f"Ollama's Go engine has no pipeline for family {preset.family!r}"
        if preset.name in UNSERVED:
            return UNSERVED[preset.name]
        return None

    def run(self, image: ImageInput, preset: Preset) -> Trace:
        reason = self.supports(preset)
        if reason:
            raise ParityError(f"{self.name} cannot run {preset.name}: {reason}")
        model, recipe = PIPELINES[preset.family]
        if image.decoded is not None:
            img: GoImage = go_image_from_rgb(image.decoded, "*image.RGBA (injected)")
        else:
            img = decode_go(image.path)
        tb = TraceBuilder()
        recipe(img, preset, tb)
        return tb.build(preset.name, self.name, self.version, image.label)
