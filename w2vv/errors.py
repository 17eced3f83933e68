"""The one exception the project raises for bad input: its message is a single line for the user."""


class InputError(Exception):
    """Bad input (a file missing, malformed or inconsistent). The message names the file."""
