"""Logical CPU devices, Ascend rank tables and multi-worker clusters (strategy/cluster.py)."""

import json

import pytest
import tensorflow as tf

from ascendgan.strategy import cluster_from_rank_environment, configure_logical_cpus, local_strategy


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
