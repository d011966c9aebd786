"""The exceptions rnnapps raises on purpose, caught by type.

* ``UsageError``: a mistake the user can fix (an option, a file, an input);
  the command line prints its message on one line and exits with code 2.
* ``Diverged``: the training loss became NaN or infinite (exit 1).
* ``Interrupted``: Ctrl-C during training, after a checkpoint was saved (exit 130).

Anything else is a bug in rnnapps or a library: it keeps its traceback.
This module imports nothing heavy, so the command line can catch these
without importing TensorFlow.
"""

from __future__ import annotations

from pathlib import Path


class UsageError(ValueError):
    """A bad option, file or input, with a message that names it.

    The command line prints the message on one line and exits with code 2;
    library callers can catch it as a ``ValueError``.
    """


class Diverged(RuntimeError):
    """The training loss became NaN or infinite.

    Attributes:
        epoch: 1-based epoch of the bad step.
        step: 1-based step within that epoch.
    """

    def __init__(self, epoch: int, step: int):
        super().__init__(f"training diverged: the loss is not finite at epoch {epoch}, "
                         f"step {step}")
        self.epoch, self.step = epoch, step


class Interrupted(KeyboardInterrupt):
    """Training was interrupted (Ctrl-C) and a checkpoint of where it stood was saved.

    Attributes:
        epoch: 1-based epoch that was running.
        step: Steps of that epoch that had finished (and are in the checkpoint).
        checkpoint_dir: Where the checkpoint is; ``fit(..., resume=True)`` goes on.
        hint: What to run to resume, if known.
    """

    def __init__(self, epoch: int, step: int, checkpoint_dir: Path, hint: str = ""):
        self.epoch, self.step, self.checkpoint_dir, self.hint = epoch, step, checkpoint_dir, hint
        super().__init__(f"interrupted in epoch {epoch} after step {step}; a checkpoint was "
                         f"saved in {checkpoint_dir}" + (f": {hint}" if hint else ""))


def first_line(err: BaseException) -> str:
    """The first line of an error's message (its type's name if it has none):
    what a one-line ``UsageError`` quotes of a library's multi-line error."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
