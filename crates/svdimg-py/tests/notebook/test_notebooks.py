"""Both lessons as notebooks: they run top to bottom (nbclient, no network) and their
outputs hold the lessons' numbers: shapes, reconstructions, Eckart–Young's optimum."""

import ast
import json
import re

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

from conftest import ROOT, SHARED  # noqa: E402

NOTEBOOKS = ROOT / "examples" / "notebooks"


def run(name):
    path = NOTEBOOKS / name
    nb = nbformat.read(path, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    return nb


def outputs(nb, starts):
    """The outputs of the one code cell whose source starts with `starts`."""
    cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith(starts)]
    assert len(cells) == 1, f"{len(cells)} cells start with {starts!r}"
    return cells[0].outputs


def value(nb, starts):
    """The cell's result (text/plain), read back (NumPy 2 writes scalars as np.float64(...))."""
    out = [o for o in outputs(nb, starts) if o.output_type == "execute_result"]
    text = out[0].data["text/plain"]
    ast.parse(text, mode="eval")
    return eval(text, {"__builtins__": {}, "np": np, "dtype": np.dtype})  # noqa: S307 (our own output)


def printed(nb, starts):
    return "".join(o.text for o in outputs(nb, starts) if o.output_type == "stream")


def kinds(nb, starts):
    return {k for o in outputs(nb, starts) if o.output_type in ("execute_result", "display_data") for k in o.data}


def test_numpy_tutorial_runs_and_holds_its_numbers():
    nb = run("numpy-linear-algebra.ipynb")
    assert all(o.output_type != "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    shape = [o for o in outputs(nb, "img.shape, img.ndim") if o.output_type == "execute_result"]
    assert shape[0].data["text/plain"] == "((256, 256, 3), 3, dtype('uint8'))"
    assert "image/png" in kinds(nb, "img, meta = svdimg.load_sample()")
    assert value(nb, "U, s, Vt = linalg.svd(img_gray)") == ((256, 256), (256,), (256, 256))
    norm, close = value(nb, "Sigma = np.zeros((U.shape[1]")
    assert close is True and norm < 1e-10
    assert value(nb, "U2, s2, Vt2 = svdimg.svd(img_gray)") == (True, True)
    assert "image/svg+xml" in kinds(nb, "svdimg.spectrum(img_gray)")
    error, optimum, equal, svdimg_equal = value(nb, "error = linalg.norm(img_gray - approx)")
    assert equal is True and svdimg_equal is True and error == pytest.approx(optimum, rel=1e-9)
    assert value(nb, "U, s, Vt = linalg.svd(img_array_transposed)") == ((3, 256, 256), (3, 256), (3, 256, 256))
    assert value(nb, "Sigma = np.zeros((3, 256, 256))") == ((3, 256, 256), True)
    assert "image/png" in kinds(nb, "out = svdimg.approximate(img, k")
    # svdimg's one call and the tutorial's products agree to a rounding step.
    assert value(nb, "reference = np.rint(") <= 1
    assert "text/html" in kinds(nb, "svdimg.gallery(img)")
    assert "k =  10:   5130 numbers of 65536 (  7.8%)" in printed(nb, "m, n = img_gray.shape")
    assert "application/vnd.jupyter.widget-view+json" in kinds(nb, "from svdimg.widget import Explorer")
    k, ranks, _ = value(nb, "w.k = 20")
    assert (k, ranks) == (20, [20, 20, 20])


def test_compression_lesson_runs_and_meets_eckart_young():
    nb = run("svd-compression.ipynb")
    assert all(o.output_type != "error" for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert value(nb, "X.shape, X.dtype")[0] == (172, 448)
    assert printed(nb, "A = X / 255").strip() == "A: (172, 448), U: (172, 172), Σ: (172,), V^T: (448, 448)"
    lines = printed(nb, "ranks = [1, 2, 3").strip().splitlines()
    assert len(lines) == 8 and all(line.endswith("equal: True") for line in lines)
    # The errors are the reference's Eckart–Young optimum (NumPy/LAPACK, in ../shared).
    reference = SHARED / "reference" / "text.json"
    if reference.exists():
        ref = json.loads(reference.read_text())
        plane = ref["planes"]["gray"] if "planes" in ref else ref["gray"]
        optimal = plane["optimal_error"]
        for line in lines:
            rank, error = re.match(r"rank +(\d+): error ([\d.]+)", line).groups()
            assert float(error) == pytest.approx(optimal[rank], abs=2e-6), line
    assert "text/html" in kinds(nb, "svdimg.gallery(X, ranks)")
    assert "text/html" in kinds(nb, "svdimg.components(X, count=8)")
    assert value(nb, "total = np.zeros(A.shape)") is True
    assert "k =  5:   3105 numbers of 77056 (  4.0%)" in printed(nb, "m, n = X.shape")
    assert "application/vnd.jupyter.widget-view+json" in kinds(nb, "from svdimg.widget import Explorer")
