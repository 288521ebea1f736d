"""The one exception the CLI turns into exit code 2 (bad input or usage)."""


class ParityError(Exception):
    """Bad input or usage: missing/corrupt image, unknown preset or impl, unusable dump.

    The message is one line that names the bad value; the CLI prints it on stderr and exits 2.
    """


class BadImage(ParityError):
    """The input image itself is unusable (missing, empty, corrupt, truncated, too large).

    Unlike an impl refusing an image it could read, this stops the whole run: no impl can proceed.
    """
