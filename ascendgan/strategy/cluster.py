"""Where the replicas are: logical CPU devices, Ascend rank tables and multi-worker clusters.

* :func:`configure_logical_cpus` splits the CPU into several devices, so
  ``MirroredStrategy`` can run several replicas on one machine without GPUs;
* :func:`cluster_from_rank_environment` turns Ascend-style ``RANK_SIZE`` / ``RANK_ID``
  (+ ``RANK_TABLE_FILE`` or ``WORKER_HOSTS``) into a ``TF_CONFIG``-style cluster;
* :func:`multi_worker_strategy` builds ``tf.distribute.MultiWorkerMirroredStrategy`` from
  ``TF_CONFIG`` or from those variables, :func:`local_strategy` the strategy over this
  machine's CPUs or GPUs.
"""

from __future__ import annotations

import json
import os

import tensorflow as tf

from ascendgan.strategy.npu import rank_from_environment
from ascendgan.validation import check_int


def configure_logical_cpus(count: int):
    """Splits the CPU into ``count`` logical devices (``/cpu:0`` ... ``/cpu:{count-1}``), so
    ``MirroredStrategy`` can run several replicas on one CPU (tests, rehearsing a multi-GPU
    run).  Call it before TensorFlow runs anything.

    Returns:
        the device names.

    Raises:
        RuntimeError: when TensorFlow has already initialized its devices.
    """
    count = check_int("count", count, minimum=1)
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if not (current and len(current) == count):
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)])
        except RuntimeError as error:
            raise RuntimeError(
                f"configure_logical_cpus({count}) must run before TensorFlow initializes its "
                "devices: call it at the start of the program, before any model or tensor is "
                f"created (or run the work in a fresh process). TensorFlow said: {error}"
            ) from error
    return [f"/cpu:{i}" for i in range(count)]


def _rank_table_hosts(path, base_port):
    try:
        with open(path, encoding="utf-8") as handle:
            table = json.load(handle)
    except (OSError, json.JSONDecodeError) as error:
        raise ValueError(f"RANK_TABLE_FILE {path!r} is not a readable JSON rank table: {error}") from None
    servers = table.get("server_list") if isinstance(table, dict) else None
    if not isinstance(servers, list):
        raise ValueError(
            f"RANK_TABLE_FILE {path!r} has no 'server_list' (expected the version 1.0 rank "
            "table format: server_list[].server_id and server_list[].device[].rank_id)"
        )
    ranks = {}
    for server in servers:
        host = server.get("server_id") or server.get("host_ip")
        for local, device in enumerate(server.get("device", [])):
            try:
                rank = int(device["rank_id"])
            except (KeyError, TypeError, ValueError):
                raise ValueError(
                    f"RANK_TABLE_FILE {path!r}: every device needs an integer 'rank_id'. "
                    f"Received: {device!r}"
                ) from None
            ranks[rank] = f"{host}:{base_port + local}"
    return [ranks[rank] for rank in sorted(ranks)]


def cluster_from_rank_environment(environ=None, base_port: int = 20000) -> dict:
    """A ``TF_CONFIG``-style dictionary from Ascend-style rank variables.

    Ascend launches one process per device with ``RANK_SIZE`` (processes), ``RANK_ID``
    (this process) and ``RANK_TABLE_FILE`` (a JSON table of the servers and devices).
    ``MultiWorkerMirroredStrategy`` needs ``host:port`` of every worker instead.  They come
    from, in order:

    1. ``WORKER_HOSTS``: comma-separated ``host:port``, one per rank;
    2. ``RANK_TABLE_FILE``: rank ``r`` on server ``S`` at position ``k`` of its device list
       listens on ``S:{base_port + k}``;
    3. otherwise every rank runs on this machine: ``localhost:{base_port + r}``.

    Args:
        environ: a mapping (default ``os.environ``).
        base_port: first port of a machine's workers.

    Returns:
        ``{"cluster": {"worker": [...]}, "task": {"type": "worker", "index": RANK_ID}}``.

    Example:

    >>> cluster_from_rank_environment({"RANK_SIZE": "2", "RANK_ID": "1"})["cluster"]
    {'worker': ['localhost:20000', 'localhost:20001']}
    """
    environ = os.environ if environ is None else environ
    rank = rank_from_environment(environ)
    hosts = environ.get("WORKER_HOSTS")
    if hosts:
        workers = [h.strip() for h in hosts.split(",") if h.strip()]
        source = "WORKER_HOSTS"
    elif rank.rank_table_file:
        workers = _rank_table_hosts(rank.rank_table_file, base_port)
        source = f"RANK_TABLE_FILE ({rank.rank_table_file})"
    else:
        workers = [f"localhost:{base_port + r}" for r in range(rank.rank_size)]
        source = None
    if source is not None and len(workers) != rank.rank_size:
        raise ValueError(
            f"{source} lists {len(workers)} workers but RANK_SIZE={rank.rank_size}; they must "
            "agree."
        )
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank.rank_id}}


def multi_worker_strategy(environ=None):
    """``tf.distribute.MultiWorkerMirroredStrategy`` for this process: the cluster from
    ``TF_CONFIG``, else from the rank variables (:func:`cluster_from_rank_environment`),
    else a single local worker.  Create it at the start of the program."""
    environ = os.environ if environ is None else environ
    if environ.get("TF_CONFIG"):
        resolver = tf.distribute.cluster_resolver.TFConfigClusterResolver()
    elif environ.get("RANK_SIZE"):
        config = cluster_from_rank_environment(environ)
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(config["cluster"]), task_type="worker",
            task_id=config["task"]["index"], rpc_layer="grpc",
        )
    else:
        resolver = None  # a single local worker
    return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)


def local_strategy(kind: str, devices=None):
    """The ``tf.distribute`` strategy over this machine's ``"cpu"`` or ``"gpu"`` devices.

    Args:
        kind: ``"cpu"`` or ``"gpu"``.
        devices: how many devices (an int) or which (a list of names); default: one
            CPU, all GPUs.

    Returns:
        TensorFlow's default strategy for one device (``OneDeviceStrategy`` for a CPU
        when GPUs are visible), else ``MirroredStrategy`` over the devices.
    """
    names = [d.name for d in tf.config.list_logical_devices(kind.upper())]
    if devices is None:
        chosen = names[:1] if kind == "cpu" else names
    elif isinstance(devices, int) and not isinstance(devices, bool):
        if devices < 1 or devices > len(names):
            hint = (" Call ascendgan.strategy.configure_logical_cpus(n) at start-up to split the "
                    "CPU into n devices." if kind == "cpu" else "")
            raise ValueError(
                f"`devices` asks for {devices} {kind.upper()} device(s); visible: "
                f"{len(names)}.{hint}"
            )
        chosen = names[:devices]
    elif isinstance(devices, (list, tuple)) and devices:
        chosen = list(devices)
    else:
        raise ValueError(
            f"`devices` must be None, a positive integer or a list of device names. "
            f"Received: devices={devices!r}"
        )
    if len(chosen) <= 1:
        if kind == "cpu" and tf.config.list_logical_devices("GPU"):
            return tf.distribute.OneDeviceStrategy(chosen[0] if chosen else "/cpu:0")
        return tf.distribute.get_strategy()  # one device: TensorFlow's default, no overhead
    cross_device_ops = tf.distribute.ReductionToOneDevice() if kind == "cpu" else None
    return tf.distribute.MirroredStrategy(chosen, cross_device_ops=cross_device_ops)


__all__ = ["cluster_from_rank_environment", "configure_logical_cpus", "local_strategy",
           "multi_worker_strategy"]
