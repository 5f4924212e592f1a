"""ascendgan.testing.run_layer_test: passes correct layers, names what is wrong in broken ones."""

import numpy as np
import pytest
import tensorflow as tf

from ascendgan import compat
from ascendgan.testing import run_layer_test

keras = compat.keras

INPUT_SHAPE = (2, 4)


@compat.register(package="ascendgan_testing")
class ScaledProjection(keras.layers.Layer):
    """A correct layer: ``scale * x @ w`` in the compute dtype, with a complete config."""

    def __init__(self, units, scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.scale = scale

    def build(self, input_shape):
        self.w = self.add_weight(name="w", shape=(input_shape[-1], self.units), initializer="glorot_uniform")
        self.built = True

    def call(self, inputs):
        return tf.matmul(inputs, tf.cast(self.w, inputs.dtype)) * tf.cast(self.scale, inputs.dtype)

    def get_config(self):
        config = super().get_config()
        config.update(units=self.units, scale=self.scale)
        return config


@compat.register(package="ascendgan_testing")
class ForgetsRequiredArgument(ScaledProjection):
    """get_config misses ``units`` (a required argument)."""

    def get_config(self):
        config = keras.layers.Layer.get_config(self)
        config.update(scale=self.scale)
        return config


@compat.register(package="ascendgan_testing")
class ForgetsDefaultArgument(ScaledProjection):
    """get_config misses ``scale`` (an argument with a default)."""

    def get_config(self):
        config = keras.layers.Layer.get_config(self)
        config.update(units=self.units)
        return config


class NotRegistered(ScaledProjection):
    """Not decorated with compat.register."""


@compat.register(package="ascendgan_testing")
class DeadWeights(ScaledProjection):
    """Its weight receives no gradient."""

    def call(self, inputs):
        return tf.matmul(inputs, tf.stop_gradient(tf.cast(self.w, inputs.dtype)))


@compat.register(package="ascendgan_testing")
class IgnoresPolicy(ScaledProjection):
    """Returns float32 under mixed_bfloat16 instead of the compute dtype."""

    def call(self, inputs):
        return tf.cast(super().call(inputs), tf.float32)


@compat.register(package="ascendgan_testing")
class LoadsNothing(ScaledProjection):
    """Saves its weights but ignores them when loading."""

    def load_own_variables(self, store):
        pass


@compat.register(package="ascendgan_testing")
class ForgetsBias(ScaledProjection):
    """Has a bias weight that the caller did not expect."""

    def build(self, input_shape):
        super().build(input_shape)
        self.b = self.add_weight(name="b", shape=(self.units,), initializer="zeros")

    def call(self, inputs):
        return super().call(inputs) + tf.cast(self.b, inputs.dtype)


def check(layer_cls, **init_kwargs):
    init_kwargs.setdefault("units", 3)
    return run_layer_test(
        layer_cls,
        init_kwargs,
        input_shape=INPUT_SHAPE,
        expected_output_shape=(2, 3),
        expected_num_trainable_weights=1,
        expected_num_non_trainable_weights=0,
        expected_num_params=4 * 3,
    )


def test_a_correct_layer_passes_and_is_returned_built():
    layer = check(ScaledProjection, scale=2.0)
    assert isinstance(layer, ScaledProjection) and layer.built
    x = np.random.default_rng(0).standard_normal(INPUT_SHAPE).astype("float32")
    np.testing.assert_allclose(np.asarray(layer(x)), 2.0 * x @ np.asarray(layer.w), rtol=1e-5, atol=1e-6)


def test_input_data_and_several_inputs():
    @compat.register(package="ascendgan_testing")
    class AddPair(keras.layers.Layer):
        def build(self, input_shape):
            self.w = self.add_weight(name="w", shape=(input_shape[0][-1],), initializer="ones")
            self.built = True

        def call(self, inputs):
            x, y = inputs
            return x * tf.cast(self.w, x.dtype) + tf.cast(y, x.dtype)[:, None]

    run_layer_test(AddPair, {}, input_shape=[(2, 3), (2,)], input_dtype=["float32", "int32"],
                   expected_output_shape=(2, 3), expected_num_trainable_weights=1)


def test_missing_input_is_a_value_error():
    with pytest.raises(ValueError, match="input_shape"):
        run_layer_test(ScaledProjection, {"units": 3})


def test_wrong_output_shape_is_named():
    with pytest.raises(AssertionError, match=r"ScaledProjection output shape \(2, 3\) != expected \(2, 5\)"):
        run_layer_test(ScaledProjection, {"units": 3}, input_shape=INPUT_SHAPE, expected_output_shape=(2, 5))


def test_wrong_weight_count_names_the_weights():
    with pytest.raises(AssertionError, match=r"ForgetsBias has 2 trainable weights, expected 1: .*w.*b"):
        check(ForgetsBias)
    with pytest.raises(AssertionError, match=r"ScaledProjection has 1 trainable weights, expected 2"):
        run_layer_test(ScaledProjection, {"units": 3}, input_shape=INPUT_SHAPE,
                       expected_num_trainable_weights=2)
    with pytest.raises(AssertionError, match=r"ScaledProjection has 0 non-trainable weights, expected 1"):
        run_layer_test(ScaledProjection, {"units": 3}, input_shape=INPUT_SHAPE,
                       expected_num_non_trainable_weights=1)
    with pytest.raises(AssertionError, match=r"ScaledProjection has 12 parameters, expected 13"):
        run_layer_test(ScaledProjection, {"units": 3}, input_shape=INPUT_SHAPE, expected_num_params=13)


def test_policy_ignoring_output_dtype_is_named():
    with pytest.raises(AssertionError, match=r"IgnoresPolicy under mixed_bfloat16 returned .*float32.*expected bfloat16"):
        check(IgnoresPolicy)
    assert compat.global_precision() == "float32"  # the check restored the policy


def test_wrong_loading_is_named():
    with pytest.raises(AssertionError, match=r"LoadsNothing: a model reloaded from the \.keras format gives different"):
        check(LoadsNothing)


def test_config_missing_a_default_argument_is_caught():
    # Built with scale=3, rebuilt from its config with the default scale=1: the reloaded
    # model computes something else.
    with pytest.raises(AssertionError, match="ForgetsDefaultArgument"):
        check(ForgetsDefaultArgument, scale=3.0)


# run_layer_test's docstring promises "Raises: AssertionError: naming the first property that
# does not hold"; these three broken layers used to let TypeError / ValueError escape.


def test_config_missing_a_required_argument_is_an_assertion_naming_it():
    with pytest.raises(AssertionError, match="units"):
        check(ForgetsRequiredArgument)


def test_unregistered_layer_is_an_assertion_pointing_to_register():
    with pytest.raises(AssertionError, match="register"):
        check(NotRegistered)


def test_untrainable_weights_are_an_assertion():
    with pytest.raises(AssertionError, match="DeadWeights"):
        check(DeadWeights)
