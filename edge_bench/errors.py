"""Errors that carry a one-line, user-facing message."""


class InputError(Exception):
    """Bad input from the user (file, key or flag). The CLI prints it on one line and exits 2."""


class VariantFailure(Exception):
    """One variant could not be built or measured. Recorded as a `failed` result; the sweep goes on."""
