"""What one request to ``rnnapps serve`` may ask for: the one place of the
defaults, read by the command line (no TensorFlow) and by ``rest``."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one request may ask for.

    Attributes:
        max_request_bytes: Largest body accepted (HTTP 413 beyond).
        max_batch: Most examples in one request (the first dimension of every input).
        max_generated_chars: Most characters one generation request may ask
            for (``length`` x seed texts x ``num_samples``): the one input
            whose value, not its size, sets how long a call runs.
    """

    max_request_bytes: int = 1 << 20
    max_batch: int = 256
    max_generated_chars: int = 100_000
