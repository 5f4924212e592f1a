"""Where a training iteration's time goes: a few iterations under the TensorFlow profiler,
summed per op type (``run.py --profile DIR``)."""

from __future__ import annotations

import collections
import glob
import os

XLA_PROFILE_NOTE = ("no TensorFlow op events: with XLA the step runs as compiled clusters, "
                    "which this op-type breakdown does not see")


def op_type_times(logdir):
    """Total host time per TensorFlow op type in the newest profiler trace under ``logdir``.

    Reads the ``*.xplane.pb`` that ``tf.profiler.experimental`` writes; op events are named
    ``"<op name>:<op type>"`` (with oneDNN, convolutions and batch norms appear as
    ``_MklNativeConv2D``, ``_MklNativeFusedBatchNormV3``, ...). Ops of the two inter-op
    threads overlap in time, so the totals add up to more than the wall time.

    Returns:
        ``{op type: seconds}``, largest first.
    """
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True),
                   key=os.path.getmtime)
    if not paths:
        raise FileNotFoundError(f"no *.xplane.pb trace under {logdir!r}")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as handle:
        space.ParseFromString(handle.read())
    totals = collections.Counter()
    for plane in space.planes:
        names = {key: meta.name for key, meta in plane.event_metadata.items()}
        for line in plane.lines:
            for event in line.events:
                label = names.get(event.metadata_id, "")
                if ":" not in label or label.startswith("__inference") or "/" not in label:
                    continue
                op_type = label.rsplit(":", 1)[1]
                if not op_type or " " in op_type:
                    continue
                totals[op_type] += event.duration_ps * 1e-12
    return dict(sorted(totals.items(), key=lambda item: -item[1]))


def profile(train, steps, logdir):
    """Runs ``train(1)`` (the second ``fit``'s own first step), then ``train(steps)`` under
    the profiler writing to ``logdir``; returns :func:`op_type_times`."""
    import tensorflow as tf

    train(1)
    tf.profiler.experimental.start(logdir)
    try:
        train(steps)
    finally:
        tf.profiler.experimental.stop()
    return op_type_times(logdir)


def profile_summary(train, steps, logdir, top=25):
    """The ``profile`` field of a result: each op type's share of the op time and its ms per
    iteration (the ``top`` largest), or a note when there are no op events (XLA)."""
    times = {k: v for k, v in profile(train, steps, logdir).items() if v > 0}
    if not times:
        return {"note": XLA_PROFILE_NOTE}
    total = sum(times.values())
    largest = list(times.items())[:top]
    return {
        "iterations": steps,
        "op_type_share": {k: round(v / total, 4) for k, v in largest},
        "op_type_ms_per_iteration": {k: round(1000 * v / steps, 2) for k, v in largest},
    }
