"""Every resize kernel the project can run, by name: ``RESAMPLE_KERNELS[name](rgb, (h, w)) -> uint8``.

Input: an (H, W, 3) uint8 RGB image, never modified; output: a new (h, w, 3) uint8 image. Names say
whose code it is:

- ``pil-<filter>``: Pillow 13's ``Image.resize`` (bicubic a = -0.5, with antialiasing on downscale);
- ``torchvision-<mode>[-noantialias]``: ``torchvision.transforms.v2.functional.resize`` on a uint8
  tensor (bicubic a = -0.75; antialias as named);
- ``opencv-<flag>``: ``cv2.resize`` with ``INTER_<FLAG>`` (bicubic a = -0.75, no antialiasing);
- the runtimes' resizers ported in this package: ``xdraw-*`` (Ollama's golang.org/x/image/draw, fed
  the opaque ``*image.RGBA`` a decoded RGB image becomes in Go), ``llamacpp-pillow-*`` (llama.cpp mtmd's
  fixed-point Pillow port) and ``llamacpp-legacy-*`` (examples/llava/clip.cpp's own bicubic/bilinear).

The order of the dict is the order diagnosis tries them (ties go to the earlier name). A plain dict:
the set is fixed; an unknown name gets a ParityError listing the valid ones (``get_kernel``).
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from PIL import Image
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from parity.errors import ParityError
from parity.kernels.clip_legacy import resize_bicubic_llamacpp_legacy, resize_bilinear_llamacpp_legacy
from parity.kernels.pillow_fixed import resize_pillow_fixed
from parity.kernels.xdraw import resize_approxbilinear_xdraw, resize_kernel_xdraw, resize_nearest_xdraw

#: fn(rgb uint8 (H, W, 3), (h, w)) -> uint8 (h, w, 3)
Kernel = Callable[[np.ndarray, tuple[int, int]], np.ndarray]


def _pil(filter_name: str) -> Kernel:
    resample = getattr(Image.Resampling, filter_name.upper())

    def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return np.asarray(Image.fromarray(rgb).resize((size[1], size[0]), resample))
    return resize


def _torchvision(mode: str, antialias: bool) -> Kernel:
    def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        x = torch.from_numpy(np.array(rgb)).permute(2, 0, 1)  # a writable copy: the input stays untouched
        y = F.resize(x, list(size), interpolation=InterpolationMode(mode), antialias=antialias)
        return y.permute(1, 2, 0).numpy()
    return resize


def _opencv(flag: str) -> Kernel:
    interpolation = getattr(cv2, flag)

    def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return cv2.resize(rgb, (size[1], size[0]), interpolation=interpolation)
    return resize


def _rgba(rgb: np.ndarray) -> np.ndarray:
    """Opaque ``*image.RGBA`` bytes: what Go's scalers read for a decoded RGB image."""
    return np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])


def _rgba64(rgb: np.ndarray) -> np.ndarray:
    """The same as 16-bit samples (v * 0x101, Go's ``color.RGBA.RGBA()``), for the scalers that take them."""
    return _rgba(rgb).astype(np.uint16) * 0x101


def _xdraw(kernel: str) -> Kernel:
    def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return resize_kernel_xdraw(_rgba(rgb), size, kernel)[..., :3]
    return resize


def _xdraw_nearest(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return resize_nearest_xdraw(_rgba64(rgb), size)[..., :3]


def _xdraw_approxbilinear(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return resize_approxbilinear_xdraw(_rgba64(rgb), size)[..., :3]


def _pillow_fixed(filter_name: str) -> Kernel:
    def resize(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
        return resize_pillow_fixed(rgb, size[1], size[0], filter_name)
    return resize


def _clip_legacy_bicubic(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return resize_bicubic_llamacpp_legacy(rgb, size[1], size[0])


def _clip_legacy_bilinear(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return resize_bilinear_llamacpp_legacy(rgb, size[1], size[0])


RESAMPLE_KERNELS: dict[str, Kernel] = {
    **{f"pil-{f}": _pil(f) for f in ("nearest", "bilinear", "bicubic", "lanczos", "box", "hamming")},
    **{f"torchvision-{m}{'' if aa else '-noantialias'}": _torchvision(m, aa)
       for m in ("bilinear", "bicubic") for aa in (True, False)},
    "torchvision-nearest": _torchvision("nearest", False),
    "torchvision-nearest-exact": _torchvision("nearest-exact", False),
    **{f"opencv-{f[6:].lower().replace('_', '-')}": _opencv(f)
       for f in ("INTER_NEAREST", "INTER_NEAREST_EXACT", "INTER_LINEAR", "INTER_LINEAR_EXACT", "INTER_CUBIC",
                 "INTER_AREA", "INTER_LANCZOS4")},
    **{f"xdraw-{k}": _xdraw(k) for k in ("bilinear", "catmullrom")},
    "xdraw-nearest": _xdraw_nearest,
    "xdraw-approxbilinear": _xdraw_approxbilinear,
    **{f"llamacpp-pillow-{f}": _pillow_fixed(f) for f in ("bilinear", "bicubic", "lanczos")},
    "llamacpp-legacy-bicubic": _clip_legacy_bicubic,
    "llamacpp-legacy-bilinear": _clip_legacy_bilinear,
}

#: kernels that sample the source at the output's footprint without widening the filter on downscale
#: (no antialiasing): torchvision's ``antialias=False``, OpenCV (but INTER_AREA, which averages), x/image's ApproxBiLinear and nearest
#: scalers, examples/llava/clip.cpp's resizers, and every nearest-neighbour kernel. Pillow (and mtmd's port
#: of it) and x/image's ``Kernel.Scale`` widen their support by the scale factor: they antialias.
NO_ANTIALIAS: frozenset[str] = frozenset(
    name for name in RESAMPLE_KERNELS
    if name.endswith(("-noantialias", "nearest", "nearest-exact")) or name.startswith(("opencv-", "llamacpp-legacy-"))
    and name != "opencv-area" or name == "xdraw-approxbilinear")


def get_kernel(name: str) -> Kernel:
    try:
        return RESAMPLE_KERNELS[name]
    except KeyError:
        raise ParityError(f"unknown resize kernel {name!r}; valid: {', '.join(RESAMPLE_KERNELS)}") from None
