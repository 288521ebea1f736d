"""``mtmd_image_preprocessor_internvl``: llava-uhd pinpoint slicing, slices first, overview last.

Source: ggml-org/llama.cpp tools/mtmd/mtmd-image.cpp at commit 0c1e570; the candidates are
``set_internvl_dhr_res_candidates`` of clip.cpp (``parity.impls.llamacpp.hparams``). An image no larger
than ``image_size`` on both sides gets the overview alone.
"""

from __future__ import annotations

import numpy as np

from parity.impls.llamacpp.hparams import ClipHparams
from parity.impls.llamacpp.llava_uhd import get_slice_instructions, ordered_chunks, slice_image
from parity.impls.llamacpp.resize import Preprocessed


def preprocess_internvl(img: np.ndarray, hp: ClipHparams) -> Preprocessed:
    h, w = img.shape[:2]
    inst = get_slice_instructions(w, h, hp)
    steps, overview, slices = slice_image(img, inst, hp)
    chunks, roles = ordered_chunks(overview, slices, ov_first=False)
    plan = {"preprocessor": "internvl", "original": [w, h], **inst.to_dict(),
            "resize": [s.plan for s in steps], "chunks": list(roles)}
    return Preprocessed(plan, steps, chunks, roles)
