"""The one exception the project raises for bad input: its message is a single line for the user."""
import difflib


class InputError(Exception):
    """Bad input (a file missing, malformed or inconsistent). The message names the file."""


def nearest_name(name, names):
    """The name of ``names`` closest to a misspelt ``name``, whatever the letters' case (``MAX_EPOCHS``:
    ``max_epochs``), for an error's "did you mean"."""
    by_lower = {known.lower(): known for known in names}
    return by_lower[difflib.get_close_matches(name.lower(), by_lower, n=1, cutoff=0.0)[0]]
