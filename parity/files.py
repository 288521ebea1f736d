"""Files at the edges: checked reads of input files and the one atomic writer of outputs.

Reads (``read_regular``): regular files only — a FIFO would block forever, ``/dev/zero`` never ends, a
directory or a symlink loop each get their own one-line message — and never more than a stated cap
(below), checked on the open file before reading. Writes (``atomic_write``): ``.bin`` (canonical
little-endian bytes = inp_raw for ``pack``), ``.npy`` (one array) or ``.npz`` (several), via a temp
file in the same folder and ``os.replace``, with the mode an ordinary ``open()`` would give
(0666 & ~umask); a failed write leaves no partial file. ``check_output_path`` refuses an unusable
target before any work starts.
"""

from __future__ import annotations

import errno
import os
import stat
import tempfile
from pathlib import Path

from parity.errors import ParityError

MiB = 2**20
#: input caps. Images: 512 MiB (Pillow refuses more than ~89 Mpx anyway; an 89 Mpx RGB BMP is 268 MB).
MAX_IMAGE_BYTES = 512 * MiB
#: HF ``preprocessor_config.json`` files are a few KB.
MAX_CONFIG_BYTES = 16 * MiB
#: the golden manifest of this repository is ~2 MB.
MAX_MANIFEST_BYTES = 256 * MiB

_KIND = {stat.S_IFIFO: "a FIFO", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
         stat.S_IFSOCK: "a socket"}


def human_bytes(n: int) -> str:
    return f"{n / MiB:.0f} MiB" if n >= MiB else f"{n} bytes"


def _open_error(e: OSError, what: str, p: Path, error: type[ParityError]) -> ParityError:
    if e.errno == errno.ENOENT:
        return error(f"{what} not found: {p}")
    if e.errno == errno.ELOOP:
        return error(f"{what} path is a symlink loop: {p}")
    if e.errno == errno.ENOTDIR:
        return error(f"{what} not found (a parent of the path is not a directory): {p}")
    if e.errno == errno.EISDIR:
        return error(f"{what} path is a directory: {p}")
    if e.errno == errno.ENAMETOOLONG:
        return error(f"{what} path is too long: {str(p)[:80]}...")
    return error(f"cannot read {what} {p}: {e.strerror or e}")


def open_regular(path: str | os.PathLike, what: str, error: type[ParityError] = ParityError) -> tuple[int, int]:
    """Open ``path`` for reading if it is a regular file: (fd, size). O_NONBLOCK so that a FIFO is
    refused instead of blocking; the type is checked on the open descriptor (no stat/open race)."""
    p = Path(path)
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError as e:
        raise _open_error(e, what, p, error) from None
    st = os.fstat(fd)
    if stat.S_ISREG(st.st_mode):
        return fd, st.st_size
    os.close(fd)
    if stat.S_ISDIR(st.st_mode):
        raise error(f"{what} path is a directory: {p}")
    raise error(f"{what} is not a regular file ({_KIND.get(stat.S_IFMT(st.st_mode), 'a special file')}): {p}")


def check_regular(path: str | os.PathLike, what: str, error: type[ParityError] = ParityError) -> int:
    """The size of ``path`` if it is a regular file (else one-line ``error``)."""
    fd, size = open_regular(path, what, error)
    os.close(fd)
    return size


def read_regular(path: str | os.PathLike, what: str, cap: int, error: type[ParityError] = ParityError,
                 cap_reason: str = "") -> bytes:
    """The bytes of a regular file of at most ``cap`` bytes (one-line ``error`` otherwise)."""
    fd, size = open_regular(path, what, error)
    try:
        if size > cap:
            raise error(f"{what} {path} is {size:,} bytes, over the {human_bytes(cap)} cap"
                        + (f" ({cap_reason})" if cap_reason else ""))
        with os.fdopen(os.dup(fd), "rb") as fh:
            data = fh.read(cap + 1)  # the file may grow after fstat: never read past the cap
    except OSError as e:
        raise error(f"cannot read {what} {path}: {e.strerror or e}") from None
    finally:
        os.close(fd)
    if len(data) > cap:
        raise error(f"{what} {path} grew over the {human_bytes(cap)} cap while being read")
    return data


def new_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 & ~umask (mkstemp alone gives 0600)."""
    try:
        with open("/proc/self/status") as fh:  # Linux: read the umask without changing it
            for line in fh:
                if line.startswith("Umask:"):
                    return 0o666 & ~int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)  # elsewhere: the classic read-by-setting, restored at once
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path: str | os.PathLike, data: bytes | None = None, *, writer=None) -> None:
    """Write ``data`` (or call ``writer(fh)``) to a temp file in the same directory, fsync, give it the
    ordinary new-file mode, then rename over ``path``. Nothing is left behind on failure."""
    p = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            if writer is not None:
                writer(fh)
            else:
                fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, new_file_mode())
        os.replace(tmp, p)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def check_output_dir(d: Path, what: str = "output", may_create: bool = False) -> None:
    """``d`` is a directory a file can be created in (probed, not guessed from mode bits: root passes
    every access() test, /proc refuses anyway). With ``may_create``, a missing ``d`` is fine when its
    nearest existing ancestor is such a directory (the writer creates the rest)."""
    for anc in [d, *d.parents]:
        if anc.exists():
            if not anc.is_dir():
                raise ParityError(f"{what} directory {d} cannot be created or used: {anc} is a file")
            break
    if not d.exists() and not may_create:
        raise ParityError(f"{what} directory does not exist: {d}")
    probe_in = d if d.exists() else anc
    try:
        fd, probe = tempfile.mkstemp(prefix=".parity-probe.", dir=probe_in)
    except OSError as e:
        raise ParityError(f"{what} directory {probe_in} is not writable: {e.strerror or e}") from None
    os.close(fd)
    os.unlink(probe)


def check_output_path(path: str | os.PathLike, suffixes: tuple[str, ...] = ()) -> Path:
    """A usable ``-o`` target, checked before any work starts: one of ``suffixes`` (when given), a
    writable existing directory, and not an existing directory or special file."""
    p = Path(path)
    if suffixes and p.suffix not in suffixes:
        raise ParityError(f"output {p} must end in one of {', '.join(suffixes)}")
    if p.is_dir():
        raise ParityError(f"output path is a directory: {p}")
    if p.exists() and not p.is_file():
        raise ParityError(f"output path exists and is not a regular file: {p}")
    check_output_dir(p.parent if str(p.parent) else Path("."))
    return p


