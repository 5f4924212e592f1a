"""A GAN trained in a TF1 graph with a ``tf.compat.v1.Session`` (the documented Ascend way).

:class:`GraphTraining` builds one training iteration of a ``GAN`` as graph ops: the
discriminator update(s), then the generator update, then the generator's moving average,
exactly the order of ``GAN.train_step``. The losses come from the GAN's own step functions
(:func:`ascendgan.training.steps.discriminator_step` / ``generator_step``, and through them
the GAN's hooks: ``make_fakes``, ``augment``, ``discriminate``, ``compute_*_loss``, the
penalties and regularizers); each loss is minimized by a ``tf.compat.v1.train.AdamOptimizer``
(the GAN's ``default_optimizers`` settings, Keras's epsilon) prepared by
``Strategy.wrap_graph_optimizer``: on CPU / GPU loss scaling when the precision needs it,
on an Ascend NPU the documented ``npu_tf_optimizer(NPULossScaleOptimizer(opt, manager))``.

Checkpoints are ``tf.train.Checkpoint`` objects used in graph mode, with the keys
``GAN.checkpoint()`` writes in eager mode (networks by attribute path, Adam's ``m`` / ``v``
under Keras's slot names ``momentums`` / ``velocities``, the step counters as
``_iterations``, the latent generator's state): a graph run's checkpoint restores in an eager
``GAN`` (to sample, evaluate, export or continue training) and back.

TF1 graphs need legacy Keras (``TF_USE_LEGACY_KERAS=1``); :func:`require_legacy_keras` says
so in one line under Keras 3.

Example:

>>> graph = tf.Graph()                                          # doctest: +SKIP
>>> with graph.as_default(), strategy.scope():                  # doctest: +SKIP
...     gan = dcgan("mnist", base_filters=4, seed=0)
...     element = tf.compat.v1.data.make_one_shot_iterator(dataset).get_next()
...     training = GraphTraining(gan, strategy, element)
>>> with strategy.session(graph=graph) as sess:                 # doctest: +SKIP
...     training.initialize(sess)
...     logs = training.run_step(sess)
"""

from __future__ import annotations

import types

import numpy as np
import tensorflow as tf

from ascendgan import compat
from ascendgan import losses as losses_lib
from ascendgan.strategy.optimizer import CHECKPOINT_KEY
from ascendgan.training import steps, weight_keys
from ascendgan.training.checkpoints import CheckpointError
from ascendgan.validation import check_choice

#: Logged by every iteration (plus ``gradient_penalty`` / ``r1_penalty`` and the GAN's
#: extra generator metrics when they apply).
LOG_NAMES = ("d_loss", "g_loss", "d_real", "d_fake")
#: Keras's Adam epsilon (``GAN``'s default optimizers use it; TF1's default is 1e-8).
ADAM_EPSILON = 1e-7


def require_legacy_keras(what="graph_mode=True"):
    """Raises a one-line ``RuntimeError`` under Keras 3, whose layers cannot be built in a
    TF1 graph; does nothing under legacy Keras."""
    if compat.KERAS_3:
        raise RuntimeError(
            f"{what} trains in a TF1 graph, which needs legacy Keras: set TF_USE_LEGACY_KERAS=1 "
            f"(pip install tf-keras) and run again. Received: Keras {compat.KERAS_VERSION}")


class _LossOnly:
    """Stands in for a ``WrappedOptimizer`` while the step functions build the losses: no
    scaling, no update (the TF1 optimizers' ``minimize`` does both)."""

    loss_scale_manager = None

    @staticmethod
    def scale_loss(loss):
        return loss

    @staticmethod
    def apply_gradients(gradients, variables):
        return None


def _split(gan, data):
    """``(reals, conditions)`` of one iteration, as ``GAN.train_step`` splits them."""
    real, condition = gan.unpack_batch(data)
    if gan.num_classes is not None and condition is None:
        raise ValueError(f"This GAN is class-conditional (num_classes={gan.num_classes}); its data "
                         "must be `(images, labels)` batches. Received batches without labels.")
    if gan.num_classes is None and gan.latent_dim is not None:
        condition = None
    k = gan.discriminator_steps
    if k == 1:
        return [real], [condition]
    return tf.split(real, k), (tf.split(condition, k) if condition is not None else [None] * k)


_ASSIGNMENTS = frozenset({"AssignVariableOp", "AssignSubVariableOp", "AssignAddVariableOp"})


def _ordered_assignments(start, after=None, last_write=None):
    """Orders the variable assignments the graph gained since op index ``start`` (batch-norm
    moving statistics that Keras's ``add_update`` creates and nothing runs in a TF1 graph,
    the layers' own updates) as eager execution runs them: each write of a variable, and
    each later read of it, waits for the write before it (``last_write``: variable handle ->
    op, carried from phase to phase). Returns the assignments as one op (or ``after``)."""
    last_write = {} if last_write is None else last_write
    writes = [] if after is None else [after]
    for op in tf.compat.v1.get_default_graph().get_operations()[start:]:
        if op._control_flow_context is not None or not op.inputs:  # noqa: SLF001
            continue
        handle = op.inputs[0].name
        if op.type in _ASSIGNMENTS or op.type == "ReadVariableOp":
            previous = last_write.get(handle)
            if previous is not None:
                op._add_control_input(previous)  # noqa: SLF001 - created earlier: no cycle
        if op.type in _ASSIGNMENTS:
            last_write[handle] = op
            writes.append(op)
    return tf.group(*writes) if writes else None


def _op_count():
    return len(tf.compat.v1.get_default_graph().get_operations())


class GraphTraining:
    """One GAN iteration as TF1 graph ops, its optimizers and its checkpoint.

    Build it inside ``graph.as_default()`` (and the strategy's ``scope()`` for the
    precision policy), after the GAN was created in that graph.

    Args:
        gan: a ``GAN`` built in the current graph (its networks are built here if needed).
        strategy: an ``ascendgan.strategy.Strategy`` (one replica); its
            ``wrap_graph_optimizer`` prepares both optimizers.
        element: one data-set element of an iteration (``regroup``-ed for
            ``discriminator_steps > 1``), e.g. an iterator's ``get_next()``.
        loss_scale: passed to ``Strategy.wrap_graph_optimizer``.

    Attributes:
        train_op: runs one iteration.
        logs: ``{name: tensor}`` computed by that iteration (``d_*`` of its last D update).
        generator_step / discriminator_step: int64 step counters (``_iterations``).
        generator_optimizer / discriminator_optimizer: the wrapped TF1 optimizers.
    """

    def __init__(self, gan, strategy, element, loss_scale="auto"):
        require_legacy_keras()
        if tf.executing_eagerly():
            raise RuntimeError("GraphTraining builds TF1 graph ops: create it inside "
                               "`tf.Graph().as_default()`. Received: eager execution")
        if strategy.distribute.num_replicas_in_sync != 1:
            raise ValueError("Graph mode trains one replica per process (data parallelism on NPUs "
                             "goes through RANK_SIZE). Received: "
                             f"{strategy.distribute.num_replicas_in_sync} tf.distribute replicas")
        self.gan = gan
        if gan.loss_pair is None:
            gan.loss_pair = losses_lib.get(gan.default_loss)
        reals, conditions = _split(gan, element)
        image_shape = tuple(reals[0].shape[1:])
        gan.build_models(image_shape)
        settings = gan.default_optimizers
        self.raw_optimizers, self.learning_rates, counters, wrapped = {}, {}, {}, {}
        for name, rate in (("generator", settings.generator_learning_rate),
                           ("discriminator", settings.discriminator_learning_rate)):
            self.learning_rates[name] = tf.Variable(float(rate), trainable=False, name=f"{name}_learning_rate")
            counters[name] = tf.Variable(0, dtype=tf.int64, trainable=False, name=f"{name}_iterations")
            self.raw_optimizers[name] = tf.compat.v1.train.AdamOptimizer(
                self.learning_rates[name], beta1=settings.beta_1, beta2=settings.beta_2,
                epsilon=ADAM_EPSILON, name=f"{name}_adam")
            wrapped[name] = strategy.wrap_graph_optimizer(self.raw_optimizers[name])
        self.generator_step, self.discriminator_step = counters["generator"], counters["discriminator"]
        self.generator_optimizer, self.discriminator_optimizer = wrapped["generator"], wrapped["discriminator"]
        self.train_op, self.logs = self._build(reals, conditions)

    def _build(self, reals, conditions):
        gan = self.gan
        saved = {name: getattr(gan, name, None) for name in (
            "wrapped_generator_optimizer", "wrapped_discriminator_optimizer", "generator_optimizer")}
        gan.wrapped_generator_optimizer = gan.wrapped_discriminator_optimizer = _LossOnly()
        # update_ema reads the generator's step counter as `generator_optimizer.iterations`
        gan.generator_optimizer = types.SimpleNamespace(iterations=self.generator_step)
        try:
            update = tf.no_op()
            logs, fakes, regularization, assigned, writes = {}, None, None, None, {}
            if gan.reuse_fakes:  # one generator pass (steps.shared_pass_step's order)
                start = _op_count()
                real, condition = reals[0], conditions[0]
                fakes = gan.make_fakes(condition, tf.shape(real)[0], training=True)
                regularization = steps.generator_regularization(gan)
                assigned = _ordered_assignments(start, None, writes)
            for real, condition in zip(reals, conditions):
                with tf.control_dependencies([update]):  # D updates one after the other
                    start = _op_count()
                    logs = steps.discriminator_step(gan, real, condition, fakes=fakes)
                    assigned = _ordered_assignments(start, assigned, writes)
                    update = self._minimize(self.discriminator_optimizer, logs["d_loss"],
                                            self.discriminator_step, gan.discriminator, assigned)
            with tf.control_dependencies([update]):  # G sees the updated discriminator
                start = _op_count()
                if gan.reuse_fakes:
                    # differentiated through the same pass: minimize follows `fakes` back
                    # into the generator, the chain rule shared_pass_step applies in two parts
                    loss, extra = steps.adversarial_generator_loss(gan, fakes, reals[-1], conditions[-1])
                    logs.update(g_loss=loss + regularization, **extra)
                else:
                    logs.update(steps.generator_step(gan, reals[-1], conditions[-1]))
                assigned = _ordered_assignments(start, assigned, writes)
                update = self._minimize(self.generator_optimizer, logs["g_loss"], self.generator_step,
                                        gan.generator, assigned)
            if gan.ema_generator is not None:
                with tf.control_dependencies([update]):
                    # a function call runs every assignment of update_ema, in order
                    update = tf.function(lambda: steps.update_ema(gan) or tf.constant(True))()
            with tf.control_dependencies([update]):
                logs = {name: tf.identity(value) for name, value in logs.items()}
                train_op = tf.group(*logs.values())
        finally:
            for name, value in saved.items():
                setattr(gan, name, value)
        return train_op, logs

    @staticmethod
    def _minimize(optimizer, loss, counter, network, assigned):
        update = optimizer.minimize(loss, global_step=counter, var_list=network.trainable_variables)
        return update if assigned is None else tf.group(update, assigned)

    # ------------------------------------------------------------------ running

    def initialize(self, session):
        """Initializes every variable of the graph."""
        session.run(tf.compat.v1.global_variables_initializer())

    def run_step(self, session):
        """Runs one iteration; returns its logs as floats."""
        _, logs = session.run([self.train_op, self.logs])
        return {name: float(value) for name, value in logs.items()}

    def step(self, session):
        """The number of generator updates made so far."""
        return int(session.run(self.generator_step))

    def load_values(self, session, values):
        """Sets network variables from ``{network: {key: array}}`` (keys of
        :func:`~ascendgan.training.weight_keys.variable_keys`, e.g. an eager GAN's initial
        weights, so that a seeded graph run starts where the eager one does)."""
        for network, arrays in values.items():
            variables = weight_keys.variable_keys(getattr(self.gan, network))
            for key, array in arrays.items():
                variables[key].load(np.asarray(array), session)

    # ------------------------------------------------------------------ checkpoints

    def _optimizer_state(self, name, variables):
        raw = self.raw_optimizers[name]
        slots = {"momentums": {}, "velocities": {}}
        for key, variable in variables.items():
            m, v = raw.get_slot(variable, "m"), raw.get_slot(variable, "v")
            if m is not None:
                slots["momentums"][key], slots["velocities"][key] = m, v
        state = {"_iterations": getattr(self, f"{name}_step"),
                 "_learning_rate": self.learning_rates[name], "slots": slots}
        manager = getattr(getattr(self, f"{name}_optimizer"), "manager", None)
        if manager is not None:  # GraphLossScaleOptimizer: ascendgan's manager
            state[CHECKPOINT_KEY] = manager
        return state

    def checkpoint_objects(self, part="all"):
        """The objects of the ``tf.train.Checkpoint``: the keys ``GAN.checkpoint(part)``
        uses in eager mode."""
        check_choice("part", part, weight_keys.PARTS)
        objects, networks = {}, {}
        for name in ("generator", "ema_generator") + (("discriminator",) if part == "all" else ()):
            model = getattr(self.gan, name, None)
            if model is not None:
                networks[name] = weight_keys.variable_keys(model)
                objects[f"{name}_variables"] = networks[name]
        if part == "all":
            objects["seed_generator"] = self.gan.seed_generator
            for name in ("generator", "discriminator"):
                objects[f"{name}_optimizer"] = self._optimizer_state(name, networks[name])
        return objects

    def checkpoint(self, part="all"):
        """A ``tf.train.Checkpoint`` (graph mode: save / restore with a session)."""
        return tf.train.Checkpoint(**self.checkpoint_objects(part))

    def restore(self, session, checkpoint, path):
        """Restores ``path`` into ``checkpoint`` (from :meth:`checkpoint`) and re-derives
        Adam's ``β^t`` accumulators from the restored step counters; raises
        :class:`CheckpointError` naming ``path`` when it does not restore completely."""
        path = str(path)
        try:
            status = checkpoint.restore(path)
            status.assert_existing_objects_matched()
            status.run_restore_ops(session)
        except (AssertionError, tf.errors.OpError, ValueError) as error:
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise CheckpointError(f"Checkpoint {path} does not restore into this graph ({first}).") from error
        for name, raw in self.raw_optimizers.items():
            step = int(session.run(getattr(self, f"{name}_step")))
            beta1_power, beta2_power = raw._get_beta_accumulators()
            beta1_power.load(raw._beta1 ** (step + 1), session)
            beta2_power.load(raw._beta2 ** (step + 1), session)
        return path


__all__ = ["ADAM_EPSILON", "GraphTraining", "LOG_NAMES", "require_legacy_keras"]
