"""``tf.distribute`` strategies by name, and who writes files in a cluster.

``--strategy default`` runs on one device; ``mirrored`` replicates the model on
every local GPU (or on ``RNNAPPS_CPU_DEVICES`` logical CPUs, to try it without
GPUs); ``multiworker`` spans the hosts that ``TF_CONFIG`` names. Another kind
(a TPU, parameter servers) is one more entry in ``STRATEGIES``: the training
loop only ever calls ``strategy.scope()``, ``strategy.run`` and
``strategy.experimental_distribute_dataset``.
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from pathlib import Path

import tensorflow as tf

from rnnapps.errors import UsageError

CPU_DEVICES_ENV = "RNNAPPS_CPU_DEVICES"


def configure_cpu_devices() -> None:
    """Splits the CPU into ``$RNNAPPS_CPU_DEVICES`` logical devices, if set.

    Must run before TensorFlow initialises its devices (the CLI calls it first).

    Raises:
        UsageError: If the variable is not a positive integer.
    """
    raw = os.environ.get(CPU_DEVICES_ENV)
    if not raw:
        return
    if not raw.isdigit() or int(raw) < 1:
        raise UsageError(f"{CPU_DEVICES_ENV} must be a positive integer, got {raw!r}")
    cpu = tf.config.list_physical_devices("CPU")[0]
    wanted = [tf.config.LogicalDeviceConfiguration() for _ in range(int(raw))]
    if tf.config.get_logical_device_configuration(cpu) == wanted:
        return
    try:
        tf.config.set_logical_device_configuration(cpu, wanted)
    except RuntimeError:  # devices already initialised in this process
        raise UsageError(f"{CPU_DEVICES_ENV} must be set before TensorFlow starts") from None


def _mirrored() -> tf.distribute.Strategy:
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    return tf.distribute.MirroredStrategy(
        devices=None if gpus else [d.name for d in cpus],
        # The default (NCCL) needs GPUs; on CPUs reduce by copying to one device.
        cross_device_ops=None if gpus else tf.distribute.ReductionToOneDevice())


def _multiworker() -> tf.distribute.Strategy:
    if "TF_CONFIG" not in os.environ:
        raise UsageError("--strategy multiworker needs TF_CONFIG (the cluster and this "
                         "host's task); see the README's distributed training section")
    try:
        json.loads(os.environ["TF_CONFIG"])
    except json.JSONDecodeError as err:
        raise UsageError(f"TF_CONFIG is not valid JSON: {err}") from None
    return tf.distribute.MultiWorkerMirroredStrategy()


STRATEGIES = {
    "default": tf.distribute.get_strategy,
    "mirrored": _mirrored,
    "multiworker": _multiworker,
}
"""Strategy name -> constructor (the names are ``rnnapps.config.STRATEGIES``)."""


_made: dict[str, tf.distribute.Strategy] = {}


def make_strategy(name: str) -> tf.distribute.Strategy:
    """Returns the strategy called ``name``, made once per process.

    A multi-worker strategy must be made before TensorFlow starts its runtime,
    so the command line makes it first thing and training gets the same one.

    Raises:
        UsageError: On an unknown name or a cluster that is not configured.
    """
    if name not in STRATEGIES:
        raise UsageError(f"strategy must be one of {', '.join(STRATEGIES)}; got {name!r}")
    if name not in _made:
        _made[name] = STRATEGIES[name]()
    return _made[name]


def describe_devices(name: str) -> str:
    """One line naming what TensorFlow computes on and the strategy ``name``.

    Args:
        name: A strategy name (``rnnapps.config.STRATEGIES``); it is made
            here if it was not yet.

    Returns:
        E.g. ``device: 1 GPU (NVIDIA H200) · strategy: mirrored (1 replica)``
        or ``device: CPU (2 cores) · strategy: default``.

    Raises:
        UsageError: On an unknown strategy or a cluster that is not configured.
    """
    strategy = make_strategy(name)
    gpus = tf.config.list_physical_devices("GPU")
    if gpus:
        names = Counter(tf.config.experimental.get_device_details(gpu).get("device_name", "GPU")
                        for gpu in gpus)
        kinds = ", ".join(kind if n == 1 else f"{kind} x{n}" for kind, n in names.items())
        device = f"{_count(len(gpus), 'GPU')} ({kinds})"
    else:
        cores = (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity")
                 else os.cpu_count() or 1)
        logical = len(tf.config.list_logical_devices("CPU"))
        split = f", {logical} logical devices" if logical > 1 else ""
        device = f"CPU ({_count(cores, 'core')}{split})"
    replicas = "" if name == "default" else f" ({_count(strategy.num_replicas_in_sync, 'replica')})"
    return f"device: {device} · strategy: {name}{replicas}"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def local_cluster(workers: int) -> list[dict]:
    """``TF_CONFIG`` values for a cluster of ``workers`` processes on this host.

    Each entry is one process's (``json.dumps`` it into its environment), on
    free ports of 127.0.0.1: a way to try ``--strategy multiworker`` locally.
    """
    sockets = [socket.socket() for _ in range(workers)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        cluster = {"worker": [f"127.0.0.1:{s.getsockname()[1]}" for s in sockets]}
    finally:
        for s in sockets:
            s.close()
    return [{"cluster": cluster, "task": {"type": "worker", "index": i}}
            for i in range(workers)]


def is_chief(strategy: tf.distribute.Strategy) -> bool:
    """Whether this process writes the run's files (always, outside a cluster)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.task_type:
        return True
    has_chief = "chief" in resolver.cluster_spec().as_dict()
    return resolver.task_type == "chief" or (not has_chief and resolver.task_type == "worker"
                                             and resolver.task_id == 0)


def worker_dir(run_dir: Path, strategy: tf.distribute.Strategy) -> Path:
    """Where this process writes: ``run_dir`` for the chief, ``run_dir/.worker-N``
    for the other workers. They must still save checkpoints (saving takes
    collective operations on every worker), but only the chief's files are the
    run's, and every worker resumes from the chief's checkpoints."""
    if is_chief(strategy):
        return run_dir
    resolver = strategy.cluster_resolver
    return run_dir / f".{resolver.task_type}-{resolver.task_id}"
