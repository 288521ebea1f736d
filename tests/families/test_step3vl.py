"""Step3-VL geometry: the token layout of transformers' Step3p7Processor."""

from __future__ import annotations

import pytest
from transformers import Step3p7ImageProcessor
from transformers.models.step3p7.processing_step3p7 import Step3p7Processor

from parity.families import step3vl as g


def _processor_text(n_patches, newline_mask):
    proc = Step3p7Processor.__new__(Step3p7Processor)
    ip = Step3p7ImageProcessor()
    stride = ip.vision_patch_size * ip.downsampler_stride
    proc.image_feature_placeholder = "I" * (ip.size["height"] // stride) ** 2
    proc.patch_feature_placeholder = "I" * (ip.patch_size // stride) ** 2
    return proc.replace_image_token({"num_local_patches": [n_patches], "patch_newline_masks": [newline_mask]}, 0)


@pytest.mark.parametrize("rows,cols", [(0, 0), (1, 2), (2, 2), (4, 3)])
def test_tokens_are_the_processors(rows, cols):
    mask = [c == cols - 1 and r < rows - 1 for r in range(rows) for c in range(cols)]
    text = _processor_text(rows * cols, mask)
    tok = g.tokens((rows, cols))
    specials = text.count("<")
    assert (tok.embeddings, tok.total) == (text.count("I"), text.count("I") + specials)
