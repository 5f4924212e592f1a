import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from ascendgan import compat  # noqa: E402


@pytest.fixture(autouse=True)
def _fresh_keras_state():
    """Every test starts in float32 with fresh Keras names and fixed seeds."""
    compat.clear_session()
    compat.set_precision("float32")
    compat.set_random_seed(1234)
    yield
    compat.set_precision("float32")


@pytest.fixture
def rng():
    return np.random.default_rng(0)
