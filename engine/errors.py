"""The exceptions the engine raises for bad user input: a parameter, a checkpoint or a session file.

The CLI turns them into a single readable line and exit status 2; the GUI shows them in a dialog
and keeps running. They live here, free of torch, so the CLI can name them before it imports any.
"""


class ParameterError(ValueError):
    """A user-supplied parameter is invalid; ``str(err)`` is the message to show."""

    def __init__(self, name: str, message: str):
        self.name, self.message = name, message
        super().__init__(f"{name}: {message}")

    def __reduce__(self):  # pickle by (name, message): a run on a cluster raises it in another process
        return type(self), (self.name, self.message)


class CheckpointError(ValueError):
    """A checkpoint file cannot be used (corrupt, wrong format, or not the expected model)."""


class SessionFormatError(ValueError):
    """A session file is corrupt, not an rgviz session, or from a newer rgviz."""
