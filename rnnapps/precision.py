"""Mixed precision: a run's Keras dtype policy, checked against the devices.

``--precision`` takes Keras's policy names: ``float32`` (the default),
``mixed_bfloat16`` or ``mixed_float16``. Under a mixed policy layers compute
in the low precision and keep float32 variables; each task's output layer
says ``dtype="float32"``, so losses, probabilities and exports stay float32.
float16's narrow exponent range needs loss scaling, which ``make_trainer``
adds (``keras.optimizers.LossScaleOptimizer``); bfloat16 has float32's range
and needs none.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from rnnapps.errors import UsageError

PRECISIONS = ("float32", "mixed_bfloat16", "mixed_float16")
# The instructions that make the low precision fast on a CPU (else TensorFlow
# emulates it, slower than float32), and the GPU compute capability it needs.
_CPU_FLAGS = {"mixed_bfloat16": ("avx512_bf16", "amx_bf16"),
              "mixed_float16": ("avx512_fp16", "amx_fp16")}
_GPU_CAPABILITY = {"mixed_bfloat16": (8, 0), "mixed_float16": (7, 0)}


def check(train) -> None:
    """Checks ``config.train``'s precision against its other settings (no TensorFlow).

    Raises:
        UsageError: For float16 with ``clip_norm``: the trainer clips the
            gradients it holds, which are loss-scaled under float16.
    """
    if train.precision == "mixed_float16" and train.clip_norm is not None:
        raise UsageError("--clip-norm does not combine with --precision mixed_float16 (its "
                         "gradients are loss-scaled); use mixed_bfloat16, which needs no "
                         "loss scaling")


def unsupported(precision: str) -> str | None:
    """Why the visible devices cannot run ``precision`` natively, or None if they can."""
    if precision == "float32":
        return None
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        need = _GPU_CAPABILITY[precision]
        found = [tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0))
                 for g in gpus]
        if all(tuple(c) >= need for c in found):
            return None
        return (f"{precision} needs GPUs of compute capability {need[0]}.{need[1]} or more, "
                f"these have {', '.join('.'.join(map(str, c)) for c in found)}")
    flags = cpu_flags()
    if any(flag in flags for flag in _CPU_FLAGS[precision]):
        return None
    return (f"{precision} needs a CPU with {' or '.join(_CPU_FLAGS[precision])} "
            "instructions, and this one has neither")


def cpu_flags() -> set[str]:
    """The instruction-set flags ``/proc/cpuinfo`` lists (empty where there is none)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def resolved(config, verbose: int = 1):
    """``config`` with the precision its run gets: its own where the devices
    run it, else float32, with a line saying why (when ``verbose``)."""
    why = unsupported(config.train.precision)
    if why is None:
        return config
    if verbose:
        print(f"{why}: training in float32 instead")
    return config.replace(precision="float32")


@contextlib.contextmanager
def policy(precision: str):
    """Layers made inside compute in ``precision`` (Keras's global dtype
    policy, restored afterwards, so nothing else in the process changes)."""
    import keras

    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(precision)
    try:
        yield
    finally:
        keras.config.set_dtype_policy(previous)
