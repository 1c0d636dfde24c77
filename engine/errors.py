"""The one exception type the engine raises for bad user input.

The CLI turns it into a single readable line and exit status 2; the GUI shows it in a dialog
and keeps running. Its message names the parameter and what is allowed.
"""


class ParameterError(ValueError):
    """A user-supplied parameter is invalid; ``str(err)`` is the message to show."""

    def __init__(self, name: str, message: str):
        self.name = name
        super().__init__(f"{name}: {message}")
