"""The project's own tests use the fixtures of the pytest plugin it ships (memory.testing)."""

from __future__ import annotations

import numpy as np
import pytest


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20261125)
