"""The one exception the CLI turns into exit code 2 (bad input or usage).

Anything else that reaches ``parity.cli.main`` is a bug: exit 3 with one line (``--debug`` shows the
traceback). See README.md "Exit codes"."""


class ParityError(Exception):
    """Bad input or usage: missing/corrupt image, unknown preset or impl, unusable dump.

    The message is one line that names the bad value; the CLI prints it on stderr and exits 2.
    """


class BadImage(ParityError):
    """The input image itself is unusable (missing, empty, corrupt, truncated, too large).

    Raised by a decoder, it is that runtime refusing the file (Go refuses a PNG chunk CRC that Pillow
    and stb accept): ``run`` records it for that impl; only when every impl fails is the image bad input.
    """
