"""Presets: one checkpoint's preprocessing configuration, stored as data with provenance per value.

Each ``data/<name>.toml`` holds
- ``name``, ``family``, ``checkpoint``, ``description``;
- ``[hf]``: the transformers processor stem (``Mllama`` -> ``MllamaImageProcessor`` /
  ``MllamaImageProcessorPil``), the ``source`` of the config and ``[hf.config]``, the checkpoint's
  ``preprocessor_config.json`` values (no hub access exists at run time, so they live here);
- ``[values.<key>]`` tables with ``value`` and ``source``: the parameters non-HF impls read (tile size,
  mean/std, resample filter...). Impl code holds no preset constants.

Overlays: ``overlays/<overlay>/<name>.toml`` (same ``[values.<key>]`` layout) hold what one runtime
family reads for that checkpoint, e.g. ``overlays/gguf/llava-1.6.toml`` = the ``clip.*`` metadata the
converter writes into that checkpoint's mmproj file. ``preset.overlay("gguf")`` returns those values.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

from parity.errors import ParityError

DATA_DIR = Path(__file__).parent / "data"
OVERLAY_DIR = Path(__file__).parent / "overlays"


@dataclass(frozen=True)
class Preset:
    name: str
    family: str
    checkpoint: str
    description: str
    values: Mapping[str, Any]
    sources: Mapping[str, str]
    hf_processor: str | None = None
    hf_config: Mapping[str, Any] = field(default_factory=dict)
    hf_source: str = ""
    path: str = ""
    overlays: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    overlay_sources: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        try:
            return self.values[key]
        except KeyError:
            raise KeyError(f"preset {self.name!r} has no value {key!r} (has: {', '.join(self.values)})") from None

    def get(self, key: str, default: Any = None) -> Any:
        return self.values.get(key, default)

    def overlay(self, name: str) -> Mapping[str, Any]:
        """Values of overlay ``name`` for this preset ({} when the preset has none)."""
        return self.overlays.get(name, MappingProxyType({}))

    def clip_metadata(self) -> Mapping[str, Any] | None:
        """The llama.cpp mmproj ``clip.*`` metadata this preset implies: its ``gguf`` overlay, else its own
        values when they are GGUF-keyed (a preset derived from an mmproj file); None when it has neither."""
        overlay = self.overlay("gguf")
        if overlay:
            return overlay
        if any(k.startswith("clip.") for k in self.values):
            return self.values
        return None

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "family": self.family,
            "checkpoint": self.checkpoint,
            "description": self.description,
            "values": {k: {"value": v, "source": self.sources.get(k, "")} for k, v in self.values.items()},
            "hf": {"processor": self.hf_processor, "source": self.hf_source, "config": dict(self.hf_config)},
            "overlays": {o: {k: {"value": v, "source": self.overlay_sources[o].get(k, "")} for k, v in vals.items()}
                         for o, vals in self.overlays.items()},
        }


def _values_with_sources(table: dict[str, Any], where: str) -> tuple[dict, dict]:
    values, sources = {}, {}
    for key, entry in table.items():
        if not isinstance(entry, dict) or "value" not in entry or "source" not in entry:
            raise ParityError(f"{where}: value {key!r} needs 'value' and 'source'")
        values[key] = entry["value"]
        sources[key] = entry["source"]
    return values, sources


def preset_from_dict(d: dict[str, Any], path: str = "",
                     overlays: dict[str, dict[str, Any]] | None = None) -> Preset:
    """Build a Preset from the TOML layout (also used for presets derived from GGUF files).

    ``overlays`` maps an overlay name to its ``values`` table (``{key: {value, source}}``)."""
    values, sources = _values_with_sources(d.get("values", {}), f"preset {d.get('name')!r} ({path})")
    ov_values, ov_sources = {}, {}
    for oname, table in (overlays or {}).items():
        v, s = _values_with_sources(table, f"overlay {oname!r} of preset {d.get('name')!r}")
        ov_values[oname], ov_sources[oname] = MappingProxyType(v), MappingProxyType(s)
    hf = d.get("hf", {})
    return Preset(
        name=d["name"],
        family=d["family"],
        checkpoint=d.get("checkpoint", ""),
        description=d.get("description", ""),
        values=MappingProxyType(values),
        sources=MappingProxyType(sources),
        hf_processor=hf.get("processor"),
        hf_config=MappingProxyType(dict(hf.get("config", {}))),
        hf_source=hf.get("source", ""),
        path=path,
        overlays=MappingProxyType(ov_values),
        overlay_sources=MappingProxyType(ov_sources),
    )


@cache
def all_presets() -> dict[str, Preset]:
    out = {}
    for f in sorted(DATA_DIR.glob("*.toml")):
        with f.open("rb") as fh:
            d = tomllib.load(fh)
        overlays = {}
        for of in sorted(OVERLAY_DIR.glob(f"*/{f.stem}.toml")):
            with of.open("rb") as fh:
                overlays[of.parent.name] = tomllib.load(fh).get("values", {})
        p = preset_from_dict(d, str(f), overlays)
        out[p.name] = p
    return out


def get_preset(name: str) -> Preset:
    presets = all_presets()
    try:
        return presets[name]
    except KeyError:
        raise ParityError(f"unknown preset {name!r}; valid: {', '.join(presets)}") from None
