"""vlm-parity: stage-by-stage parity of VLM image preprocessing."""

__version__ = "0.1.0"
