"""Logical CPU devices, Ascend rank tables (server_list and group_list layouts) and
multi-worker clusters (strategy/cluster.py)."""

import json

import pytest
import tensorflow as tf

from ascendgan.strategy import cluster_from_rank_environment, configure_logical_cpus, local_strategy
from ascendgan.strategy.cluster import (
    RANK_TABLE_FORMATS,
    RankTable,
    RankTableDevice,
    read_rank_table,
)


def test_logical_cpus_cannot_be_configured_after_start_up():
    tf.constant(1.0) + 1.0  # TensorFlow is initialized
    with pytest.raises(RuntimeError, match="start of the program"):
        configure_logical_cpus(3)


def test_local_strategy_on_one_cpu_is_the_default_strategy():
    assert local_strategy("cpu") is tf.distribute.get_strategy()
    with pytest.raises(ValueError, match="configure_logical_cpus"):
        local_strategy("cpu", 4)
    with pytest.raises(ValueError, match="devices"):
        local_strategy("cpu", "two")


def test_cluster_from_rank_variables_on_one_machine():
    config = cluster_from_rank_environment({"RANK_SIZE": "3", "RANK_ID": "2"}, base_port=5000)
    assert config == {"cluster": {"worker": ["localhost:5000", "localhost:5001",
                                             "localhost:5002"]},
                      "task": {"type": "worker", "index": 2}}


def test_cluster_from_a_rank_table(tmp_path):
    table = {
        "version": "1.0", "server_count": "2", "status": "completed",
        "server_list": [
            {"server_id": "10.0.0.2", "device": [
                {"device_id": "0", "device_ip": "192.168.1.8", "rank_id": "2"},
                {"device_id": "1", "device_ip": "192.168.1.9", "rank_id": "3"}]},
            {"server_id": "10.0.0.1", "device": [
                {"device_id": "0", "device_ip": "192.168.1.1", "rank_id": "0"},
                {"device_id": "1", "device_ip": "192.168.1.2", "rank_id": "1"}]},
        ],
    }
    path = tmp_path / "rank_table_4p.json"
    path.write_text(json.dumps(table))
    environ = {"RANK_SIZE": "4", "RANK_ID": "1", "RANK_TABLE_FILE": str(path)}
    config = cluster_from_rank_environment(environ, base_port=6000)
    assert config["cluster"]["worker"] == ["10.0.0.1:6000", "10.0.0.1:6001", "10.0.0.2:6000",
                                           "10.0.0.2:6001"]
    assert config["task"]["index"] == 1
    with pytest.raises(ValueError, match="RANK_SIZE=8"):
        cluster_from_rank_environment(dict(environ, RANK_SIZE="8"))
    path.write_text("{}")
    with pytest.raises(ValueError, match="server_list"):
        cluster_from_rank_environment(environ)


@pytest.mark.parametrize(
    "environ, message",
    [
        ({"RANK_SIZE": "2", "RANK_ID": "2"}, "RANK_ID"),
        ({"RANK_SIZE": "zero"}, "RANK_SIZE"),
        ({"RANK_SIZE": "2", "RANK_ID": "0", "WORKER_HOSTS": "a:1"}, "WORKER_HOSTS"),
        ({"RANK_SIZE": "1", "RANK_TABLE_FILE": "/nonexistent/table.json"}, "RANK_TABLE_FILE"),
    ],
)
def test_bad_rank_variables_are_named(environ, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        cluster_from_rank_environment(environ)


# ----------------------------------------------------------------------------- rank tables


def _write(tmp_path, table, name="rank_table.json"):
    path = tmp_path / name
    path.write_text(json.dumps(table))
    return str(path)


def _group_list_table():
    """Two pods of two devices in the group_list layout (template 2), listed pod-1 first as
    the container platform may write them; ranks follow the pod index."""
    return {
        "status": "completed", "group_count": "1",
        "group_list": [{
            "group_name": "job", "device_count": "4", "instance_count": "2",
            "instance_list": [
                {"pod_name": "job-worker-1", "server_id": "10.0.0.2", "devices": [
                    {"device_id": "0", "device_ip": "192.168.2.1"},
                    {"device_id": "1", "device_ip": "192.168.2.2"}]},
                {"pod_name": "job-worker-0", "server_id": "10.0.0.1", "devices": [
                    {"device_id": "0", "device_ip": "192.168.1.1"},
                    {"device_id": "1", "device_ip": "192.168.1.2"}]},
            ],
        }],
    }


def _server_list_table():
    """The same cluster in the server_list layout (template 1)."""
    return {
        "version": "1.0", "server_count": "2", "status": "completed",
        "server_list": [
            {"server_id": "10.0.0.1", "device": [
                {"device_id": "0", "device_ip": "192.168.1.1", "rank_id": "0"},
                {"device_id": "1", "device_ip": "192.168.1.2", "rank_id": "1"}]},
            {"server_id": "10.0.0.2", "device": [
                {"device_id": "0", "device_ip": "192.168.2.1", "rank_id": "2"},
                {"device_id": "1", "device_ip": "192.168.2.2", "rank_id": "3"}]},
        ],
    }


def test_both_rank_table_layouts_read_into_the_same_structure(tmp_path):
    group = read_rank_table(_write(tmp_path, _group_list_table(), "group.json"))
    server = read_rank_table(_write(tmp_path, _server_list_table(), "server.json"))
    assert (group.format, server.format) == ("group_list", "server_list")
    expected = [(0, "10.0.0.1", 0, "192.168.1.1", 0), (1, "10.0.0.1", 1, "192.168.1.2", 1),
                (2, "10.0.0.2", 0, "192.168.2.1", 0), (3, "10.0.0.2", 1, "192.168.2.2", 1)]
    for table in (group, server):
        assert isinstance(table, RankTable) and table.rank_size == 4
        assert [(d.rank_id, d.server_id, d.device_id, d.device_ip, d.local_index)
                for d in table.devices] == expected
        assert table.servers() == ["10.0.0.1", "10.0.0.2"]
    assert [d.pod_name for d in group.devices] == ["job-worker-0"] * 2 + ["job-worker-1"] * 2
    assert all(d.pod_name is None for d in server.devices)
    assert isinstance(group.devices[0], RankTableDevice) and RANK_TABLE_FORMATS == ("server_list", "group_list")


def test_cluster_from_a_group_list_rank_table(tmp_path):
    path = _write(tmp_path, _group_list_table())
    config = cluster_from_rank_environment({"RANK_SIZE": "4", "RANK_ID": "2", "RANK_TABLE_FILE": path},
                                           base_port=7000)
    assert config == {"cluster": {"worker": ["10.0.0.1:7000", "10.0.0.1:7001", "10.0.0.2:7000",
                                             "10.0.0.2:7001"]},
                      "task": {"type": "worker", "index": 2}}


def test_group_list_instances_with_their_own_rank_and_listed_order(tmp_path):
    """Instances that carry a rank_id (one device each) keep it; without pod indices the
    instances count in the order listed."""
    table = {"status": "completed", "group_count": "1", "group_list": [{"instance_list": [
        {"rank_id": "1", "server_id": "10.0.0.9", "devices": [{"device_id": "3", "device_ip": "1.1.1.3"}]},
        {"rank_id": "0", "server_id": "10.0.0.9", "devices": [{"device_id": "2", "device_ip": "1.1.1.2"}]},
    ]}]}
    devices = read_rank_table(_write(tmp_path, table)).devices
    assert [(d.rank_id, d.device_id, d.local_index) for d in devices] == [(0, 2, 1), (1, 3, 0)]
    table["group_list"][0]["instance_list"] = [
        {"pod_name": "b", "server_id": "h2", "devices": [{"device_id": "0", "device_ip": "1.1.2.1"}]},
        {"pod_name": "a", "server_id": "h1", "devices": [{"device_id": "0", "device_ip": "1.1.1.1"}]},
    ]
    assert [d.server_id for d in read_rank_table(_write(tmp_path, table)).devices] == ["h2", "h1"]


@pytest.mark.parametrize("change, message", [
    (lambda t: t["group_list"][0]["instance_list"][1]["devices"][0].pop("device_ip"),
     r"group_list\[0\]\.instance_list\[1\]\.devices\[0\] has no 'device_ip'"),
    (lambda t: t["group_list"][0]["instance_list"][0]["devices"][1].update(device_id="one"),
     r"group_list\[0\]\.instance_list\[0\]\.devices\[1\]\.device_id must be an integer\. Received: device_id='one'"),
    (lambda t: t["group_list"][0]["instance_list"][0].pop("server_id"),
     r"group_list\[0\]\.instance_list\[0\] has no 'server_id'"),
    (lambda t: t["group_list"][0].update(device_count="8"),
     r"group_list\[0\]\.device_count is 8 but the table lists 4"),
    (lambda t: t.update(group_count="2"), r"the table\.group_count is 2 but the table lists 1"),
    (lambda t: t["group_list"][0].update(instance_list={}), r"group_list\[0\] must have a list 'instance_list'"),
    (lambda t: t.update(status="initializing"), r"'status' is 'initializing'"),
    (lambda t: t.pop("group_list"), r"has neither 'server_list' .* nor 'group_list'"),
])
def test_group_list_errors_name_the_file_and_the_key(tmp_path, change, message):
    table = _group_list_table()
    change(table)
    path = _write(tmp_path, table)
    with pytest.raises(ValueError, match=message) as error:
        read_rank_table(path)
    assert path in str(error.value)


def test_server_list_errors_name_the_file_and_the_key(tmp_path):
    table = _server_list_table()
    table["server_list"][1]["device"][0]["rank_id"] = "1"
    path = _write(tmp_path, table)
    with pytest.raises(ValueError, match=r"rank_id values must be 0 \.\.\. 3, each once\. Received: \[0, 1, 1, 3\]"):
        read_rank_table(path)
    table["server_list"][1]["device"][0].pop("rank_id")
    with pytest.raises(ValueError, match=r"server_list\[1\]\.device\[0\] has no 'rank_id'"):
        read_rank_table(_write(tmp_path, table))
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(ValueError, match=r"bad\.json.* is not a readable JSON rank table"):
        read_rank_table(tmp_path / "bad.json")
    with pytest.raises(FileNotFoundError, match="missing.json"):
        read_rank_table(tmp_path / "missing.json")
