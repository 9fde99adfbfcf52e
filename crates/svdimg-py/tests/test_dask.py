"""svdimg.dask and svdimg.batch on a real Dask cluster (process workers: real pickling),
and the batch journal shared with the command line."""
import json
import os
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

import svdimg
import svdimg.batch

da = pytest.importorskip("dask.array")
distributed = pytest.importorskip("distributed")
zarr = pytest.importorskip("zarr")
tifffile = pytest.importorskip("tifffile")

import svdimg.dask as sd  # noqa: E402
from dask import config as _config  # noqa: E402

dask_config = _config.set

ROOT = Path(__file__).resolve().parents[3]
#: Worker memory: the out-of-core matrix is larger than both workers' memory together.
WORKER_MEMORY = 300 * 2**20


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       memory_limit=WORKER_MEMORY, dashboard_address=None)
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def known(m, n, r, decay, seed=0):
    """A matrix U diag(s) Vᵀ with orthonormal U, V and s = decay**i."""
    rng = np.random.default_rng(seed)
    u, _ = np.linalg.qr(rng.standard_normal((m, r)))
    v, _ = np.linalg.qr(rng.standard_normal((n, r)))
    s = decay ** np.arange(r)
    return u, s, v


def error_over_optimum(total_sq, s_all, s_k, k):
    """‖A − A_k‖ over the Eckart–Young optimum, with ‖A − P A‖² = ‖A‖² − Σ s_k²."""
    err = np.sqrt(max(total_sq - np.sum(np.asarray(s_k, np.float64) ** 2), 0.0))
    return err / np.sqrt(np.sum(s_all[k:] ** 2))


def test_chunking_does_not_change_the_factors(client):
    u0, s0, v0 = known(1500, 1100, 120, 0.93)
    a = (u0 * s0) @ v0.T
    out = []
    for chunks in [(500, 400), (300, 1100)]:
        u, s, vt = sd.randomized_svd(da.from_array(a, chunks=chunks), 15, seed=3)
        out.append((u.compute(), s, vt.compute()))
    (ua, sa, va), (ub, sb, vb) = out
    assert np.abs(ua - ub).max() < 1e-6
    assert np.abs(sa - sb).max() < 1e-6 * sa[0]
    assert np.abs(va - vb).max() < 1e-6
    # And the factors are right: within 1% of the optimum, values close to the truth.
    assert error_over_optimum(np.sum(a * a), s0, sa, 15) < 1.01
    assert np.allclose(sa, s0[:15], rtol=2e-3)


def test_agrees_with_the_in_memory_truncated_svd(client):
    u0, s0, v0 = known(900, 700, 80, 0.8, seed=1)
    a = (u0 * s0) @ v0.T
    u, s, vt = sd.randomized_svd(da.from_array(a, chunks=(300, 350)), 10)
    um, sm, vtm = svdimg.truncated_svd(a, 10)
    assert np.allclose(s, sm, rtol=1e-8)
    # Same vectors (signs follow the same convention), to the randomized SVD's accuracy.
    assert np.abs(u.compute() - um).max() < 1e-4
    assert np.abs(vt.compute() - vtm).max() < 1e-4
    assert np.allclose(sd.singular_values(da.from_array(a, chunks=300), 10), sm, rtol=1e-8)
    approx = sd.approximate(da.from_array(a, chunks=(300, 350)), 10).compute()
    assert np.abs(approx - (um * sm) @ vtm).max() < 1e-6 * sm[0]


def test_out_of_core_zarr_is_within_one_percent(client, tmp_path):
    # 13000 × 13000 float32: 676 MB on disk, more than the two workers' 600 MB.
    m = n = 13000
    r, k = 100, 20
    u0, s0, v0 = known(m, n, r, 0.9, seed=2)
    s0 = 100 * s0
    path = str(tmp_path / "big.zarr")
    z = zarr.open_array(path, mode="w", shape=(m, n), chunks=(1000, 1000), dtype="f4")
    for i in range(0, m, 1000):
        z[i:i + 1000] = ((u0[i:i + 1000] * s0) @ v0.T).astype(np.float32)
    assert m * n * 4 > 2 * WORKER_MEMORY
    x = da.from_zarr(path)
    total_sq = float(da.sum(x.astype(np.float64) ** 2).compute())
    u, s, vt = sd.randomized_svd(x, k)
    assert u.shape == (m, k) and vt.shape == (k, n)
    ratio = error_over_optimum(total_sq, s0, s, k)
    assert ratio < 1.01, ratio
    assert np.allclose(s, s0[:k], rtol=1e-4)
    # A few rows of the lazy rank-k image, without forming it, against the exact rank k.
    rows = sd.approximate(x, k)[:3].compute()
    truth = (u0[:3, :k] * s0[:k]) @ v0[:, :k].T
    assert np.abs(rows - truth).max() < 0.02 * np.abs(truth).max()


def test_tiled_tiff_through_tifffile(client, tmp_path):
    u0, s0, v0 = known(1024, 768, 60, 0.85, seed=4)
    a = ((u0 * s0) @ v0.T).astype(np.float32)
    path = tmp_path / "tiled.tif"
    tifffile.imwrite(path, a, tile=(256, 256))
    # In one process, straight from tifffile's Zarr view.
    x = da.from_zarr(tifffile.imread(path, aszarr=True))
    assert x.chunks[0][0] == 256
    with dask_config(scheduler="threads"):
        s = sd.singular_values(x, 8)
    assert np.allclose(s, s0[:8], rtol=1e-4)
    # On process workers each block is read there (the Zarr view holds a file lock that
    # does not pickle).
    x = sd.from_tiff(path)
    assert x.shape == a.shape and x.chunks[0][0] % 256 == 0
    assert np.array_equal(x[300:310, 500:520].compute(), a[300:310, 500:520])
    assert np.allclose(sd.singular_values(x, 8), s0[:8], rtol=1e-4)


def make_images(folder, count, bad=True):
    folder.mkdir(parents=True, exist_ok=True)
    sample = svdimg._native.sample_png()
    for i in range(count):
        (folder / f"p{i:02d}.png").write_bytes(sample)
    if bad:
        (folder / "bad.png").write_bytes(b"not an image")


def journal_lines(path):
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def test_batch_on_the_cluster_records_bad_files(client, tmp_path):
    make_images(tmp_path / "in" / "sub", 5)
    summary = svdimg.batch.compress_files([tmp_path / "in"], tmp_path / "out", executor=client, progress=False)
    assert (summary["done"], summary["failed"], summary["skipped"]) == (5, 1, 0)
    outs = sorted(p.name for p in (tmp_path / "out" / "sub").iterdir())
    assert outs == [f"p{i:02d}.svdz" for i in range(5)]
    for p in (tmp_path / "out" / "sub").iterdir():
        svdimg.decompress(p.read_bytes())
    lines = journal_lines(tmp_path / "out" / ".svdimg-journal.jsonl")
    bad = [e for e in lines if e["status"] == "failed"]
    assert len(bad) == 1 and bad[0]["error"] == "not a recognised image format"


def cli():
    binary = ROOT / "target" / "release" / "svdimg"
    if not binary.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{binary} is missing: scripts/test.sh builds it before pytest")
        pytest.skip("the release binary is not built")
    return str(binary)


def test_cli_and_python_resume_each_other(tmp_path):
    binary = cli()
    make_images(tmp_path / "in", 3, bad=False)
    # The command line first, then Python with more files: it skips what the CLI did.
    subprocess.run([binary, "batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json"],
                   check=True, capture_output=True)
    make_images(tmp_path / "in" / "more", 2, bad=False)
    s = svdimg.batch.compress_files([tmp_path / "in"], tmp_path / "out", progress=False)
    assert (s["done"], s["skipped"]) == (2, 3)
    # Then the command line again: everything is done, whoever did it.
    out = subprocess.run([binary, "batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json"],
                         check=True, capture_output=True, text=True)
    s = json.loads(out.stdout)
    assert (s["done"], s["skipped"]) == (0, 5)
    # Other settings redo everything, from either side.
    s = svdimg.batch.compress_files([tmp_path / "in"], tmp_path / "out", psnr=30, progress=False)
    assert (s["done"], s["skipped"]) == (5, 0)
    out = subprocess.run([binary, "batch", str(tmp_path / "in"), "-o", str(tmp_path / "out"), "--json", "--psnr", "30"],
                         check=True, capture_output=True, text=True)
    assert json.loads(out.stdout)["skipped"] == 5
    lines = journal_lines(tmp_path / "out" / ".svdimg-journal.jsonl")
    assert len(lines) == 3 + 2 + 5


def test_batch_refuses_to_write_over_an_input(tmp_path):
    make_images(tmp_path / "in", 1, bad=False)
    before = (tmp_path / "in" / "p00.png").read_bytes()
    with pytest.raises(ValueError, match="written over itself"):
        svdimg.batch.compress_files([tmp_path / "in"], tmp_path / "in", to="png", progress=False)
    assert (tmp_path / "in" / "p00.png").read_bytes() == before


def test_batch_errors():
    with pytest.raises(FileNotFoundError, match="no such file"):
        svdimg.batch.compress_files(["/nonexistent/x.png"], "/tmp/unused-out", progress=False)
    with pytest.raises(ValueError, match="at most one"):
        svdimg.batch.compress_files([], "/tmp/unused-out", psnr=30, rank=4)
    shutil.rmtree("/tmp/unused-out", ignore_errors=True)


def png_bytes(img):
    """A minimal RGB PNG writer (no Pillow in the test environment)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    h, w, _ = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def test_python_batch_survives_sigkill(tmp_path):
    """compress_files killed mid-run leaves only whole outputs; a rerun finishes the job."""
    import signal
    import sys
    import time

    rng = np.random.default_rng(7)
    folder = tmp_path / "in"
    folder.mkdir()
    count = 30
    for i in range(count):
        # Noisy 400×300 photos: tens of milliseconds each to compress.
        img = (rng.random((300, 400, 3)) * 40 + np.linspace(0, 200, 400)[None, :, None]).astype(np.uint8)
        (folder / f"p{i:02d}.png").write_bytes(png_bytes(img))
    script = "import sys, svdimg.batch; svdimg.batch.compress_files([sys.argv[1]], sys.argv[2], progress=False)"
    out = tmp_path / "out"
    proc = subprocess.Popen([sys.executable, "-c", script, str(folder), str(out)])
    time.sleep(0.7)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    visible = [p for p in out.rglob("*") if p.is_file() and not p.name.startswith(".")] if out.exists() else []
    assert len(visible) < count, "the batch finished before the kill"
    for p in visible:
        svdimg.decompress(p.read_bytes())
    s = svdimg.batch.compress_files([folder], out, progress=False)
    assert s["done"] + s["skipped"] == count and s["failed"] == 0
    # Only files recorded as done before the kill are skipped, and each of those is whole.
    assert s["skipped"] <= len(visible)
    outs = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert outs == [f"p{i:02d}.svdz" for i in range(count)]
    for name in outs:
        svdimg.decompress((out / name).read_bytes())
    assert not [p for p in out.iterdir() if p.name.startswith(svdimg.batch.TEMP_PREFIX)]
