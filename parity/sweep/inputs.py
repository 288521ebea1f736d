"""What a sweep runs on: INPUT arguments expanded into image files, each read once and hashed.

An INPUT is, in this order of precedence:

1. an existing directory: every image file under it, recursively (``IMAGE_SUFFIXES``, any case), in
   sorted order; names starting with ``.`` (``.git``, ``.DS_Store``) are skipped;
2. an existing file ending in ``.txt``, ``.lst`` or ``.list``: a list of paths, one per line (blank lines
   and lines starting with ``#`` skipped); a relative line is relative to the list file's folder; each
   line is expanded like an INPUT (a directory, a glob, a file) except that it is never read as a list;
3. any other existing path: one image, whatever its name (naming a file is choosing it);
4. a pattern with ``*``, ``?`` or ``[``: ``glob`` (``**`` recursive), matches in sorted order.

Every resulting file is read (``parity.decode.read_bytes``: regular files only, capped, not empty) and
hashed with SHA-256: results are keyed by content, so a renamed or copied file is not run twice and a
changed file is. A path that cannot be used (not found, a glob that matches nothing, a FIFO, a directory
loop, an empty or unreadable file) becomes an ``Input`` with its one-line ``error``: a bad-input row, and
the sweep goes on. Nothing under the results folder is an input (``parity sweep . -o results`` must not
sweep its own pictures and copied inputs on the next run).
"""

from __future__ import annotations

import glob
import hashlib
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from parity.decode import read_bytes
from parity.errors import ParityError
from parity.files import MAX_CONFIG_BYTES, read_regular

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
LIST_SUFFIXES = (".txt", ".lst", ".list")
GLOB_CHARS = ("*", "?", "[")


@dataclass(frozen=True)
class Input:
    """One path named by the INPUTs: absolute path, and either its sha256 and size or an error."""

    path: str
    sha256: str | None = None
    size: int | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def _walk(root: str, exclude: str | None) -> Iterator[str]:
    """Image files under ``root``, sorted, dot-names and ``exclude`` skipped, symlinked folders not
    followed (no loops)."""
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".")
                         and os.path.abspath(os.path.join(folder, d)) != exclude)
        for name in sorted(files):
            if not name.startswith(".") and name.lower().endswith(IMAGE_SUFFIXES):
                yield os.path.join(folder, name)


def _expand_one(arg: str, base: str, allow_list: bool, exclude: str | None) -> Iterator[tuple[str, str | None]]:
    """(absolute path, error or None) for one INPUT (``base``: the folder a relative path is in)."""
    path = arg if os.path.isabs(arg) else os.path.join(base, arg)
    if os.path.isdir(path):
        found = False
        for p in _walk(path, exclude):
            found = True
            yield os.path.abspath(p), None
        if not found:
            yield os.path.abspath(path), f"directory has no image files ({', '.join(IMAGE_SUFFIXES[:5])}, ...)"
        return
    if os.path.lexists(path):
        if allow_list and path.lower().endswith(LIST_SUFFIXES) and os.path.isfile(path):
            yield from _expand_list(path, exclude)
        else:
            yield os.path.abspath(path), None
        return
    if any(c in arg for c in GLOB_CHARS):
        matches = sorted(glob.glob(path, recursive=True))
        if not matches:
            yield os.path.abspath(path), "no file matches this glob"
        for m in matches:
            if os.path.isdir(m):
                yield from _expand_one(m, base, False, exclude)
            else:
                yield os.path.abspath(m), None
        return
    yield os.path.abspath(path), "not found"


def _expand_list(list_path: str, exclude: str | None) -> Iterator[tuple[str, str | None]]:
    try:
        text = read_regular(list_path, "input list", MAX_CONFIG_BYTES).decode("utf-8")
    except (ParityError, UnicodeDecodeError) as e:
        yield os.path.abspath(list_path), f"cannot read the input list: {e}"
        return
    base = os.path.dirname(os.path.abspath(list_path))
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield from _expand_one(line, base, False, exclude)


def expand_paths(args: Iterable[str], cwd: str | None = None,
                 exclude: str | os.PathLike | None = None) -> list[tuple[str, str | None]]:
    """Every (absolute path, error or None) the INPUTs name, first occurrence kept, in order; nothing
    under ``exclude`` (the results folder: its pictures and copied inputs are not a corpus)."""
    base = cwd or os.getcwd()
    skip = os.path.abspath(exclude) if exclude is not None else None
    seen: dict[str, str | None] = {}
    for arg in args:
        for path, error in _expand_one(os.fspath(arg), base, True, skip):
            if skip is None or not (path == skip or path.startswith(skip + os.sep)):
                seen.setdefault(path, error)
    return list(seen.items())


def hash_file(path: str) -> tuple[str, int]:
    """(sha256 hex, size) of an image file, read through the checked image reader (BadImage on failure)."""
    data = read_bytes(path)
    return hashlib.sha256(data).hexdigest(), len(data)


def read_input(path: str, error: str | None = None) -> Input:
    """The Input of one expanded path: hashed, or the reason it cannot be used."""
    if error is not None:
        return Input(path, error=error)
    try:
        sha, size = hash_file(path)
    except ParityError as e:
        return Input(path, error=" ".join(str(e).split()))
    except OSError as e:  # read_bytes reports the usual failures as BadImage; anything else lands here
        return Input(path, error=f"cannot read: {e.strerror or e}")
    return Input(path, sha, size)


def collect_inputs(args: Sequence[str], cwd: str | None = None,
                   exclude: str | os.PathLike | None = None) -> list[Input]:
    """Expand and read every INPUT (see the module docstring), nothing under ``exclude``."""
    return [read_input(path, error) for path, error in expand_paths(args, cwd, exclude)]
