"""Typed exceptions: the library raises these; the CLI turns them into one line and exit code 2."""


class VlmteachError(Exception):
    """Base class for every error caused by bad input to vlmteach."""


class VideoError(VlmteachError):
    """A video or image could not be read, written or has the wrong shape."""


class TaskError(VlmteachError):
    """An unknown task family, a bad difficulty, or a malformed instance folder."""


class VlmteachWarning(UserWarning):
    """Something the user should know that does not stop the command (the CLI prints it as one line)."""
