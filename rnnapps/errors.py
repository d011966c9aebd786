"""The one exception type for mistakes a user can fix."""


class UsageError(ValueError):
    """A bad option, file or input, with a message that names it.

    The command line prints the message on one line and exits with code 2;
    library callers can catch it as a ``ValueError``.
    """
