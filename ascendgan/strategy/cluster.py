"""Where the replicas are: logical CPU devices, Ascend rank tables and multi-worker clusters.

* :func:`configure_logical_cpus` splits the CPU into several devices, so
  ``MirroredStrategy`` can run several replicas on one machine without GPUs;
* :func:`read_rank_table` reads an Ascend rank table in either layout (``server_list`` or
  ``group_list``) into one :class:`RankTable`;
* :func:`cluster_from_rank_environment` turns Ascend-style ``RANK_SIZE`` / ``RANK_ID``
  (+ ``RANK_TABLE_FILE`` or ``WORKER_HOSTS``) into a ``TF_CONFIG``-style cluster;
* :func:`multi_worker_strategy` builds ``tf.distribute.MultiWorkerMirroredStrategy`` from
  ``TF_CONFIG`` or from those variables, :func:`local_strategy` the strategy over this
  machine's CPUs or GPUs.
"""

from __future__ import annotations

import dataclasses
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


#: The rank-table layouts :func:`read_rank_table` reads.
RANK_TABLE_FORMATS = ("server_list", "group_list")


@dataclasses.dataclass(frozen=True)
class RankTableDevice:
    """One rank of a rank table: which device of which server (or pod) it runs on.

    Attributes:
        rank_id: the rank (0 ... ``RANK_SIZE - 1``).
        device_id: the device's number on its server (``ASCEND_DEVICE_ID``).
        device_ip: the device's network address (its NIC for collective communication).
        server_id: the server (host) the device belongs to.
        local_index: the device's position among its server's devices in the table.
        pod_name: the pod (``group_list`` tables of container jobs), else ``None``.
    """

    rank_id: int
    device_id: int
    device_ip: str
    server_id: str
    local_index: int
    pod_name: str | None = None


@dataclasses.dataclass(frozen=True)
class RankTable:
    """A rank table read by :func:`read_rank_table`, whatever its layout.

    Attributes:
        path: the file it was read from.
        format: ``"server_list"`` (template 1, ``version`` 1.0) or ``"group_list"``
            (template 2: ``group_count``, ``group_list[].instance_list[]``).
        devices: one :class:`RankTableDevice` per rank, ordered by rank.
    """

    path: str
    format: str
    devices: tuple

    @property
    def rank_size(self) -> int:
        """The number of ranks."""
        return len(self.devices)

    def servers(self):
        """The server ids in order of their first rank."""
        return list(dict.fromkeys(device.server_id for device in self.devices))


def _where(path):
    return f"Rank table {path!r}"


def _field(path, entry, key, where, kind=str):
    """``entry[key]`` as ``kind`` (int or str); a ValueError naming the file and the key."""
    value = entry.get(key) if isinstance(entry, dict) else None
    if value is None or value == "":
        raise ValueError(f"{_where(path)}: {where} has no {key!r}. Received: {entry!r}")
    if kind is int:
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ValueError(f"{_where(path)}: {where}.{key} must be an integer. "
                             f"Received: {key}={value!r}") from None
    return str(value)


def _list(path, entry, key, where):
    value = entry.get(key) if isinstance(entry, dict) else None
    if not isinstance(value, list):
        raise ValueError(f"{_where(path)}: {where} must have a list {key!r}. Received: "
                         f"{key}={value!r}")
    return value


def _check_count(path, entry, key, actual, where):
    if isinstance(entry, dict) and entry.get(key) not in (None, ""):
        expected = _field(path, entry, key, where, int)
        if expected != actual:
            raise ValueError(f"{_where(path)}: {where}.{key} is {expected} but the table lists "
                             f"{actual}. Received: {key}={entry[key]!r}")


def _server_list_devices(path, table):
    servers = _list(path, table, "server_list", "the table")
    _check_count(path, table, "server_count", len(servers), "the table")
    devices = []
    for s, server in enumerate(servers):
        where = f"server_list[{s}]"
        host = server.get("server_id") or server.get("host_ip") if isinstance(server, dict) else None
        if not host:
            raise ValueError(f"{_where(path)}: {where} has no 'server_id'. Received: {server!r}")
        for d, device in enumerate(_list(path, server, "device", where)):
            at = f"{where}.device[{d}]"
            devices.append(RankTableDevice(
                rank_id=_field(path, device, "rank_id", at, int),
                device_id=_field(path, device, "device_id", at, int),
                device_ip=_field(path, device, "device_ip", at), server_id=str(host), local_index=d))
    return devices


def _pod_index(name):
    tail = name.rsplit("-", 1)[-1] if name else ""
    return int(tail) if tail.isdigit() else None


def _group_list_devices(path, table):
    groups = _list(path, table, "group_list", "the table")
    _check_count(path, table, "group_count", len(groups), "the table")
    devices, next_rank, per_server = [], 0, {}
    for g, group in enumerate(groups):
        where = f"group_list[{g}]"
        instances = _list(path, group, "instance_list", where)
        _check_count(path, group, "instance_count", len(instances), where)
        named = [(i, instance) for i, instance in enumerate(instances)]
        indices = [_pod_index(instance.get("pod_name")) if isinstance(instance, dict) else None
                   for instance in instances]
        if instances and all(index is not None for index in indices):
            named.sort(key=lambda item: indices[item[0]])  # pods <job>-0, <job>-1, ... in order
        count = 0
        for i, instance in named:
            at = f"{where}.instance_list[{i}]"
            server = _field(path, instance, "server_id", at)
            listed = _list(path, instance, "devices", at)
            own_rank = instance.get("rank_id")
            if own_rank not in (None, "") and len(listed) != 1:
                raise ValueError(f"{_where(path)}: {at} has a 'rank_id' and {len(listed)} devices; an "
                                 f"instance with its own rank_id holds one device. Received: {instance!r}")
            for d, device in enumerate(listed):
                dat = f"{at}.devices[{d}]"
                rank = _field(path, instance, "rank_id", at, int) if own_rank not in (None, "") else next_rank
                next_rank += 1
                count += 1
                local = per_server.get(server, 0)
                per_server[server] = local + 1
                devices.append(RankTableDevice(
                    rank_id=rank, device_id=_field(path, device, "device_id", dat, int),
                    device_ip=_field(path, device, "device_ip", dat), server_id=server,
                    local_index=local, pod_name=instance.get("pod_name") or None))
        _check_count(path, group, "device_count", count, where)
    return devices


def read_rank_table(path) -> RankTable:
    """Reads an Ascend rank table (the ``RANK_TABLE_FILE`` of a data-parallel job) in either
    layout into one :class:`RankTable`.

    * ``server_list`` (template 1, ``"version": "1.0"``): ``server_list[].server_id`` and
      ``server_list[].device[]`` with ``device_id``, ``device_ip`` and ``rank_id``.
    * ``group_list`` (template 2, written by ModelArts / container jobs): ``group_count``,
      ``group_list[].instance_list[]`` with ``pod_name``, ``server_id`` and ``devices[]``
      (``device_id``, ``device_ip``). Ranks follow the instances in the order of their pod
      index (the number after the last ``-`` of ``pod_name``, when every pod has one; the
      listed order otherwise) and the devices in listed order; an instance with its own
      ``rank_id`` (one device) keeps it. ``group_count``, ``instance_count`` and
      ``device_count``, when present, must match the lists.

    A table whose ``status`` is not ``"completed"`` is refused (it is still being written).

    Args:
        path: the JSON file.

    Returns:
        a :class:`RankTable` whose ``devices`` are ordered by rank.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        ValueError: the file is not JSON, has neither layout, a key is missing or not an
            integer, a count disagrees, or the ranks are not ``0 ... n-1`` once each; the
            message names the file and the key.

    Example:

    >>> import json, tempfile
    >>> table = {"status": "completed", "group_count": "1", "group_list": [{
    ...     "instance_count": "1", "device_count": "2", "instance_list": [{
    ...         "pod_name": "job-0", "server_id": "10.0.0.1", "devices": [
    ...             {"device_id": "0", "device_ip": "192.168.0.1"},
    ...             {"device_id": "1", "device_ip": "192.168.0.2"}]}]}]}
    >>> with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
    ...     json.dump(table, f)
    >>> read_rank_table(f.name).devices[1].rank_id, read_rank_table(f.name).format
    (1, 'group_list')
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"Rank table {path!r} does not exist.")
    try:
        with open(path, encoding="utf-8") as handle:
            table = json.load(handle)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{_where(path)} is not a readable JSON rank table: {error}") from None
    if not isinstance(table, dict):
        raise ValueError(f"{_where(path)} must hold a JSON object. Received: {type(table).__name__}")
    status = table.get("status", "completed")
    if status != "completed":
        raise ValueError(f"{_where(path)}: 'status' is {status!r}; the table is usable once it is "
                         "'completed' (it is still being written).")
    if "server_list" in table:
        layout, devices = "server_list", _server_list_devices(path, table)
    elif "group_list" in table:
        layout, devices = "group_list", _group_list_devices(path, table)
    else:
        raise ValueError(
            f"{_where(path)} has neither 'server_list' (template 1: server_list[].server_id, "
            "server_list[].device[].device_id / device_ip / rank_id) nor 'group_list' (template 2: "
            "group_count, group_list[].instance_list[].server_id / pod_name / devices[]). "
            f"Received keys: {sorted(table)}")
    ranks = sorted(device.rank_id for device in devices)
    if ranks != list(range(len(devices))):
        raise ValueError(f"{_where(path)}: the rank_id values must be 0 ... {len(devices) - 1}, each "
                         f"once. Received: {ranks}")
    return RankTable(path, layout, tuple(sorted(devices, key=lambda device: device.rank_id)))


def _rank_table_hosts(path, base_port):
    table = read_rank_table(path)
    return [f"{device.server_id}:{base_port + device.local_index}" for device in table.devices]


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


__all__ = ["RANK_TABLE_FORMATS", "RankTable", "RankTableDevice", "cluster_from_rank_environment",
           "configure_logical_cpus", "local_strategy", "multi_worker_strategy", "read_rank_table"]
