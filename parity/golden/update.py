"""Updating goldens, the only writer: new entries per produced case (arrays for the curated images
written as they come), the manifest written last."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from parity.golden.store import (
    ARRAY_IMAGES,
    DEFAULT_ROOT,
    MANIFEST_VERSION,
    GoldenStore,
    Produced,
    array_path,
    env_id,
    load_manifest,
    save_npz_atomic,
    write_json_atomic,
)
from parity.trace import FAST_HASH


@dataclass
class UpdateSummary:
    """What ``update`` changed: case keys added / removed, and (key, stage, old sha, new sha) changed."""

    root: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[tuple[str, str, str, str]] = field(default_factory=list)
    unchanged: int = 0
    arrays_written: int = 0
    kept_errors: list[str] = field(default_factory=list)  # raised now; their old goldens were kept
    # cases whose stages now carry the fast hash (FAST_HASH) they lacked: same stages, a faster check
    fast_hashes_added: int = 0

    def summary_line(self) -> str:
        added_hashes = (f"; {self.fast_hashes_added} cases given their {FAST_HASH} hashes"
                        if self.fast_hashes_added else "")
        if not (self.added or self.removed or self.changed):
            return f"goldens unchanged ({self.unchanged} cases{added_hashes}) in {self.root}"
        return (f"goldens updated in {self.root}: {len(self.added)} cases added, {len(self.changed)} stages "
                f"changed, {len(self.removed)} cases removed, {self.unchanged} cases unchanged{added_hashes}, "
                f"{self.arrays_written} arrays written")

    #: an update always succeeds (it is the only writer); the CLI exits 0 after it
    passed = True

    def to_dict(self) -> dict[str, Any]:
        return {"root": self.root, "passed": True, "summary": self.summary_line(), "added": self.added, "removed": self.removed,
                "changed": [list(c) for c in self.changed], "unchanged": self.unchanged,
                "kept_errors": self.kept_errors, "fast_hashes_added": self.fast_hashes_added,
                "arrays_written": self.arrays_written}


class GoldenUpdate:
    """A streaming update (the only writer): ``add`` each produced case, then ``finish``.

    Atomic per file: arrays are written as they come, each via temp + os.replace; the manifest is
    written last by ``finish``, so an interrupted update leaves the old manifest in force."""

    def __init__(self, root: str | os.PathLike = DEFAULT_ROOT, array_images: Iterable[str] = ARRAY_IMAGES) -> None:
        self.store = GoldenStore(root)
        self.arrays_for = set(array_images)
        self.summary = UpdateSummary(str(self.store.root))
        self.cases = dict(self.store.cases)
        self.seen: set[str] = set()
        self.errored: list[str] = []

    def add(self, p: Produced) -> None:
        self.absorb(self.entry_for(p))

    def entry_for(self, p: Produced) -> dict[str, Any]:
        """The new golden entry of one produced case, its arrays written (for the curated images) —
        the part of an update that needs the traces, so it can run where the case ran."""
        if p.error is not None:
            return {"key": p.key, "error": p.error}
        store = self.store
        new = store.updated_entry(p.key, list(p.records), p.impl_version, p.image in self.arrays_for)
        old = store.cases.get(p.key)
        written = 0
        for r in p.records:
            if new["stages"][r.name]["array"]:
                path = array_path(store.root, p.key, r.name)
                old_stage = (old or {}).get("stages", {}).get(r.name, {})
                if not (path.exists() and old_stage.get("sha256") == r.sha256 and old_stage.get("array")):
                    save_npz_atomic(path, r.value)
                    written += 1
        return {"key": p.key, "entry": new, "arrays_written": written}

    def absorb(self, produced: dict[str, Any]) -> None:
        """Take one ``entry_for`` result into the manifest being built (stale arrays of the case removed)."""
        key = produced["key"]
        if "error" in produced:
            # no new golden from a run that raised; an existing one is kept (check reports the error)
            self.errored.append(key)
            return
        store, summary, new = self.store, self.summary, produced["entry"]
        self.seen.add(key)
        summary.arrays_written += produced["arrays_written"]
        keep_npz = {f"{name}.npz" for name, e in new["stages"].items() if e["array"]}
        case_dir = store.root.joinpath(*key.split("/"))
        if case_dir.is_dir():
            for f in case_dir.glob("*.npz"):
                if f.name not in keep_npz:
                    f.unlink()  # stale arrays and .obtained.npz of this case
        old = self.cases.get(key)
        if old is None:
            summary.added.append(key)
        else:
            changed = [(key, s, old["stages"].get(s, {}).get("sha256", "(none)"), e["sha256"])
                       for s, e in new["stages"].items() if old["stages"].get(s, {}).get("sha256") != e["sha256"]]
            changed += [(key, s, e["sha256"], "(removed)") for s, e in old["stages"].items()
                        if s not in new["stages"]]
            summary.changed.extend(changed)
            if not changed:
                summary.unchanged += 1
            if any(FAST_HASH not in e for e in old["stages"].values()):
                summary.fast_hashes_added += 1
        self.cases[key] = new

    def finish(self, scope: Iterable[str] | None = None, prune: bool = True) -> UpdateSummary:
        """Write the manifest. With ``prune``, golden cases in ``scope`` not produced are removed."""
        store, cases = self.store, self.cases
        self.summary.kept_errors = sorted(k for k in set(self.errored) if k in cases)
        if prune and scope is not None:
            for key in sorted(set(scope) - self.seen - set(self.errored)):
                if key in cases:
                    del cases[key]
                    self.summary.removed.append(key)
                    case_dir = store.root.joinpath(*key.split("/"))
                    for f in case_dir.glob("*.npz") if case_dir.is_dir() else ():
                        f.unlink()
        used_envs = {c["environment"] for c in cases.values()}
        envs = {k: v for k, v in store.manifest["environments"].items() if k in used_envs}
        if env_id(store.env) in used_envs:
            envs[env_id(store.env)] = store.env
        write_json_atomic(store.root / "manifest.json",
                          {"schema_version": MANIFEST_VERSION, "environments": envs, "cases": cases})
        store.manifest = load_manifest(store.root)
        return self.summary


def update(produced: Iterable[Produced], root: str | os.PathLike = DEFAULT_ROOT,
           scope: Iterable[str] | None = None, array_images: Iterable[str] = ARRAY_IMAGES,
           prune: bool = True) -> UpdateSummary:
    """Rewrite the goldens of the produced cases (see GoldenUpdate); returns what changed."""
    gu = GoldenUpdate(root, array_images)
    for p in produced:
        gu.add(p)
    return gu.finish(scope, prune)
