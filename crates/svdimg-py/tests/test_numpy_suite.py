"""NumPy's own SVD tests, run against ``svdimg.svd`` and ``svdimg.svdvals``.

The test classes are imported from the ``test_linalg.py`` and ``test_regression.py`` that
ship with the installed NumPy, and ``numpy.linalg.svd`` / ``numpy.linalg.svdvals`` are
replaced by svdimg's for the duration of each test: every assertion NumPy makes of its own
SVD is made of svdimg's.
"""

import numpy as np
import pytest

import svdimg

test_linalg = pytest.importorskip("numpy.linalg.tests.test_linalg")
test_regression = pytest.importorskip("numpy.linalg.tests.test_regression")


@pytest.fixture(autouse=True)
def svdimg_as_numpy_svd(monkeypatch):
    monkeypatch.setattr(np.linalg, "svd", svdimg.svd)
    if hasattr(svdimg, "svdvals"):
        monkeypatch.setattr(np.linalg, "svdvals", svdimg.svdvals, raising=False)


class TestSVD(test_linalg.TestSVD):
    pass


class TestSVDHermitian(test_linalg.TestSVDHermitian):
    pass


class TestRegressionSVD:
    """The regression tests that call the SVD (their names say so)."""


for _name in dir(test_regression.TestRegression):
    if _name.startswith("test_") and "svd" in _name:
        setattr(TestRegressionSVD, _name, getattr(test_regression.TestRegression, _name))


def test_numpy_svd_is_really_replaced():
    # The patch reaches the module the NumPy tests call through.
    assert test_linalg.linalg.svd is svdimg.svd
