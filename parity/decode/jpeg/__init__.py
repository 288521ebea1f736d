"""JPEG decoders ported bit-exactly from runtimes, on coefficients read by libjpeg.

- ``coefficients``: header facts and quantized DCT coefficients (``read_coefficients``), shared by ports;
- ``stb``: stb_image v2.30 as llama.cpp uses it (``decode_jpeg_stb``);
- ``libjpeg``: the libjpeg-turbo profile (Pillow's own decoder) and IJG libjpeg 8d (jpeglib's build).
"""
