"""svdimg's Python API: NumPy's tutorial replayed with svdimg.svd, the truncated SVD's
accuracy contract, dtype and shape round trips, .svdz, and the error messages."""

import io
import json
import os
import pathlib
import threading
import time

import numpy as np
import pytest

import svdimg

SHARED = pathlib.Path(__file__).resolve().parents[3].parent / "shared"


def shared_image(name):
    """A photo from ../shared/images with its NumPy reference, or a skip (a failure in CI)."""
    path = SHARED / "images" / f"{name}.png"
    if not path.exists():
        if os.environ.get("CI"):
            pytest.fail(f"CI is set but {path} is missing")
        pytest.skip(f"{path} not found")
    reference = json.loads((SHARED / "reference" / f"{name}.json").read_text())
    img, meta = svdimg.load(path)
    return img, meta, reference


# --- NumPy's "Linear algebra on n-dimensional arrays", with svdimg.svd --------------


def test_tutorial_gray_steps_match_numpy_and_the_reference():
    img, meta, ref = shared_image("coffee")
    assert img.shape == (400, 600, 3) and img.dtype == np.uint8
    assert meta == {"width": 600, "height": 400, "bit_depth": 8, "color": "rgb", "format": "png", "truncated": None}
    img_array = img / 255
    img_gray = img_array @ [0.2126, 0.7152, 0.0722]
    U, s, Vt = svdimg.svd(img_gray)
    nU, ns, nVt = np.linalg.svd(img_gray)
    assert (U.shape, s.shape, Vt.shape) == (nU.shape, ns.shape, nVt.shape) == ((400, 400), (400,), (600, 600))
    assert U.dtype == s.dtype == Vt.dtype == np.float64
    assert np.max(np.abs(s - ns)) <= 1e-10 * ns[0]
    ref_s = np.array(ref["planes"]["gray"]["singular_values"])
    assert np.max(np.abs(s - ref_s)) <= 1e-10 * ref_s[0]
    Sigma = np.zeros((U.shape[1], Vt.shape[0]))
    np.fill_diagonal(Sigma, s)
    assert np.allclose(img_gray, U @ Sigma @ Vt)
    # Orthonormal factors, full size.
    assert np.allclose(U.T @ U, np.eye(400), atol=1e-10)
    assert np.allclose(Vt @ Vt.T, np.eye(600), atol=1e-10)
    # The rank-10 approximation reaches the Eckart-Young optimum.
    k = 10
    approx = U @ Sigma[:, :k] @ Vt[:k, :]
    err = np.linalg.norm(img_gray - approx)
    assert abs(err - ref["planes"]["gray"]["optimal_error"]["10"]) <= 1e-9 * err
    assert abs(svdimg.optimal_error(s, 10) - err) <= 1e-9 * err


def test_tutorial_batched_colour_steps():
    img, _, ref = shared_image("coffee")
    img_array = img / 255
    img_array_transposed = np.transpose(img_array, (2, 0, 1))
    U, s, Vt = svdimg.svd(img_array_transposed)
    assert (U.shape, s.shape, Vt.shape) == ((3, 400, 400), (3, 400), (3, 600, 600))
    Sigma = np.zeros((3, 400, 600))
    for j in range(3):
        np.fill_diagonal(Sigma[j, :, :], s[j, :])
    reconstructed = U @ Sigma @ Vt
    assert np.allclose(img_array_transposed, reconstructed)
    for j, plane in enumerate("rgb"):
        ref_s = np.array(ref["planes"][plane]["singular_values"])
        assert np.max(np.abs(s[j] - ref_s)) <= 1e-10 * ref_s[0]
    thin = svdimg.svd(img_array_transposed, full_matrices=False)
    assert [x.shape for x in thin] == [(3, 400, 400), (3, 400), (3, 400, 600)]
    assert np.allclose(svdimg.svd(img_array_transposed, compute_uv=False), s)


def test_a_stack_is_factored_matrix_by_matrix_in_order():
    # (2, 3, 5, 4): six matrices factored in parallel; each must come back in its own place,
    # equal to the 2-D call on that matrix.
    stack = np.random.default_rng(7).standard_normal((2, 3, 5, 4))
    for full in (True, False):
        U, s, Vt = svdimg.svd(stack, full_matrices=full)
        for i in range(2):
            for j in range(3):
                u1, s1, vt1 = svdimg.svd(stack[i, j], full_matrices=full)
                assert np.array_equal(U[i, j], u1) and np.array_equal(Vt[i, j], vt1)
                assert np.array_equal(s[i, j], s1)
    values = svdimg.svd(stack.astype(np.float32), compute_uv=False)
    assert values.shape == (2, 3, 4) and values.dtype == np.float32
    assert np.allclose(values, np.linalg.svd(stack, compute_uv=False), rtol=1e-5)


SHAPES = [(3, 5), (5, 3), (4, 4), (2, 3, 4), (0, 0), (4, 0), (0, 4), (3, 0, 4), (2, 4, 0), (0, 3, 3)]


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.complex64, np.complex128, np.int16, np.bool_])
@pytest.mark.parametrize("full_matrices", [True, False])
def test_svd_returns_what_numpy_returns(shape, dtype, full_matrices):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * rng.standard_normal(shape)
    a = a.astype(dtype)
    ours, theirs = svdimg.svd(a, full_matrices), np.linalg.svd(a, full_matrices)
    assert type(ours) is type(theirs)
    for x, y in zip(ours, theirs):
        assert (x.shape, x.dtype) == (y.shape, y.dtype)
    tol = 1e-4 if np.dtype(dtype) in (np.float32, np.complex64) else 1e-12
    np.testing.assert_allclose(ours.S, theirs.S, atol=tol * max(1, theirs.S.max(initial=0)))
    # U and Vh are unitary and rebuild a.
    k = ours.S.shape[-1]
    rebuilt = (ours.U[..., :k] * ours.S[..., None, :]) @ ours.Vh[..., :k, :]
    np.testing.assert_allclose(rebuilt, a, atol=10 * tol * max(1, np.abs(a).max(initial=0)))
    if a.size == 0:  # identities where NumPy puts them
        np.testing.assert_array_equal(ours.U, theirs.U)
        np.testing.assert_array_equal(ours.Vh, theirs.Vh)
    s = svdimg.svd(a, compute_uv=False)
    assert (s.shape, s.dtype) == (theirs.S.shape, theirs.S.dtype)
    np.testing.assert_allclose(svdimg.svdvals(a), s)


def test_complex_phases_are_fixed_like_real_signs():
    rng = np.random.default_rng(7)
    a = rng.standard_normal((6, 4)) + 1j * rng.standard_normal((6, 4))
    U, S, Vh = svdimg.svd(a, full_matrices=False)
    for j in range(4):
        big = U[np.argmax(np.abs(U[:, j])), j]
        assert big.imag == 0 and big.real > 0
    # Unique up to that convention: the same as NumPy's factors rotated the same way.
    nU, nS, nVh = np.linalg.svd(a, full_matrices=False)
    phase = np.array([np.conj(c) / abs(c) for c in nU[np.argmax(np.abs(nU), axis=0), range(4)]])
    np.testing.assert_allclose(U, nU * phase, atol=1e-12)
    np.testing.assert_allclose(Vh, nVh * phase.conj()[:, None], atol=1e-12)


def test_hermitian_reads_the_lower_triangle_as_numpy_does():
    rng = np.random.default_rng(3)
    a = rng.standard_normal((5, 5)) + 1j * rng.standard_normal((5, 5))  # not Hermitian
    ours = svdimg.svd(a, hermitian=True, compute_uv=False)
    theirs = np.linalg.svd(a, hermitian=True, compute_uv=False)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.filterwarnings("ignore::PendingDeprecationWarning")
def test_a_matrix_subclass_gets_factors_of_its_type():
    m = np.matrix([[1.0, 2.0], [3.0, 4.0]])
    U, S, Vh = svdimg.svd(m)
    assert type(U) is np.matrix and type(Vh) is np.matrix and type(S) is np.ndarray


def test_float32_stays_float32_and_ints_become_float64():
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    U, s, Vt = svdimg.svd(a, full_matrices=False)
    assert U.dtype == s.dtype == Vt.dtype == np.float32
    assert np.allclose((U * s) @ Vt, a, atol=1e-5)
    assert svdimg.svd(np.arange(12).reshape(3, 4), compute_uv=False).dtype == np.float64
    assert svdimg.svd(np.eye(3, dtype=np.float16), compute_uv=False).dtype == np.float32


def test_non_contiguous_input_is_accepted():
    base = np.random.default_rng(1).standard_normal((60, 80))
    for a in (base[::2, ::3], np.asfortranarray(base), base.T):
        assert np.allclose(svdimg.svd(a, compute_uv=False), np.linalg.svd(a, compute_uv=False))
    img, _ = svdimg.load_sample()
    view = img[::2, ::2]
    out = svdimg.approximate(view, 5)
    assert out.shape == view.shape and out.dtype == np.uint8


# --- truncated SVD -------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("k", [5, 20, 50])
def test_truncated_svd_is_within_one_percent_of_the_optimum(dtype, k):
    img, _, ref = shared_image("astronaut")
    gray = (img / 255 @ [0.2126, 0.7152, 0.0722]).astype(dtype)
    U, S, Vh = svdimg.truncated_svd(gray, k, method="randomized", seed=3)
    assert (U.shape, S.shape, Vh.shape) == ((512, k), (k,), (k, 512))
    assert U.dtype == dtype
    err = np.linalg.norm(gray.astype(np.float64) - (U.astype(np.float64) * S) @ Vh)
    optimum = ref["planes"]["gray"]["optimal_error"][str(k)]
    assert err <= 1.01 * optimum, (err, optimum)
    again = svdimg.truncated_svd(gray, k, method="randomized", seed=3)
    assert np.array_equal(S, again[1])


# --- approximate: dtypes, shapes, alpha ----------------------------------------------


@pytest.mark.parametrize("shape", [(40, 30), (40, 30, 1), (40, 30, 2), (40, 30, 3), (40, 30, 4)])
@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32, np.float64])
def test_approximate_keeps_shape_dtype_range_and_alpha(shape, dtype):
    rng = np.random.default_rng(7)
    unit = rng.random(shape)
    if np.dtype(dtype).kind == "f":
        image = unit.astype(dtype)
    else:
        image = np.rint(unit * np.iinfo(dtype).max).astype(dtype)
    out = svdimg.approximate(image, 3)
    assert out.shape == image.shape and out.dtype == image.dtype
    if np.dtype(dtype).kind == "f":
        assert out.min() >= 0.0 and out.max() <= 1.0
    if len(shape) == 3 and shape[2] in (2, 4):
        assert np.array_equal(out[..., -1], image[..., -1])
    # Full rank gives the image back (to rounding).
    full = svdimg.approximate(image, 100)
    tolerance = 1e-4 if np.dtype(dtype).kind == "f" else 1
    assert np.max(np.abs(full.astype(np.float64) - image.astype(np.float64))) <= tolerance


def test_approximate_matches_the_cli_numbers_and_grows_with_rank():
    img, _ = svdimg.load_sample()
    psnrs = [svdimg.psnr(img, svdimg.approximate(img, k)) for k in (1, 5, 20, 50)]
    assert psnrs == sorted(psnrs)
    assert abs(psnrs[2] - 23.05) < 0.01  # `svdimg approx --sample -k 20` prints 23.05 dB
    assert 0.6 < svdimg.ssim(img, svdimg.approximate(img, 20)) < 0.7


# --- .svdz ---------------------------------------------------------------------------


def test_compress_meets_the_psnr_and_the_byte_budget():
    img, _, _ = shared_image("chelsea")
    data = svdimg.compress(img, psnr=35)
    out = svdimg.decompress(data)
    assert out.shape == img.shape and out.dtype == np.uint8
    assert svdimg.psnr(img, out) >= 35
    assert len(data) < img.nbytes / 10
    small = svdimg.compress(img, max_bytes=8000)
    assert len(small) <= 8000
    assert svdimg.psnr(img, svdimg.decompress(small)) < svdimg.psnr(img, out)
    # Version 2: rank counts components per tile, so one per tile is a coarser image.
    coarse = svdimg.decompress(data, rank=1)
    assert svdimg.psnr(img, coarse) < svdimg.psnr(img, out) - 3


def test_prefixes_decode_ever_better_and_cut_data_warns(tmp_path):
    img, _, _ = shared_image("chelsea")
    data = svdimg.compress(img, psnr=38)
    path = tmp_path / "c.svdz"
    path.write_bytes(data)
    whole = svdimg.decompress(path)
    assert np.array_equal(whole, svdimg.decompress(data))
    # A budget: the same picture from the bytes or from the path, better with more bytes.
    previous = 0.0
    for share in (0.2, 0.4, 0.6, 0.8):
        n = int(len(data) * share)
        from_bytes = svdimg.decompress(data, max_bytes=n)
        assert np.array_equal(from_bytes, svdimg.decompress(str(path), max_bytes=n))
        p = svdimg.psnr(img, from_bytes)
        assert p > previous
        previous = p
    assert previous < svdimg.psnr(img, whole)
    # Data cut short: an error, or with the flag a warning naming the components used.
    cut = data[: len(data) // 2]
    with pytest.raises(ValueError, match=f"the .svdz file is truncated: it ends at byte {len(cut)} of {len(data)}"):
        svdimg.decompress(cut)
    with pytest.warns(UserWarning, match=r"truncated \(it ends at byte \d+ of \d+\); decoded \d+ of its \d+ components"):
        half = svdimg.decompress(cut, allow_truncated=True)
    assert np.array_equal(half, svdimg.decompress(data, max_bytes=len(cut)))
    with pytest.raises(ValueError, match="max_bytes must be at least 1"):
        svdimg.decompress(data, max_bytes=0)


def test_a_photo_that_was_a_jpeg_is_stored_in_its_own_ycbcr():
    # Colour model 3 (byte 9): a JPEG's own Y Cb Cr, on its grid; smaller than in Rec.709.
    Image = pytest.importorskip("PIL.Image")
    img, _, _ = shared_image("chelsea")
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=90)
    jpeg = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    data = svdimg.compress(jpeg, psnr=38)
    assert data[9] == 3
    assert svdimg.psnr(jpeg, svdimg.decompress(data)) >= 38
    assert len(data) < len(svdimg.compress(jpeg, psnr=38, color="ycbcr"))


def test_compress_keeps_alpha_and_sixteen_bits():
    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:48, 0:64]
    rgb = np.stack([x * 900, y * 1200, (x + y) * 500], axis=-1)
    alpha = rng.integers(0, 65536, size=(48, 64))
    image = np.concatenate([rgb, alpha[..., None]], axis=-1).astype(np.uint16)
    out = svdimg.decompress(svdimg.compress(image, psnr=50))
    assert out.dtype == np.uint16 and out.shape == image.shape
    assert np.array_equal(out[..., 3], image[..., 3])
    assert svdimg.psnr(image[..., :3], out[..., :3]) >= 50
    gray = svdimg.decompress(svdimg.compress(image[..., :3], rank=2, color="gray"))
    assert gray.shape == (48, 64)


# --- errors --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, exc, message",
    [
        (lambda: svdimg.svd(np.zeros(5)), ValueError, "a must have at least 2 dimensions (..., M, N), got 1"),
        (lambda: svdimg.svd(np.array([[1.0, np.nan]])), ValueError, "a contains NaN or infinity"),
        (lambda: svdimg.svd(np.array([[1.0, np.inf]])), ValueError, "a contains NaN or infinity"),
        (lambda: svdimg.truncated_svd(np.ones((2, 2), complex), 1), TypeError, "a is complex (complex128); this function works on real arrays"),
        (lambda: svdimg.svd(np.array([["a", "b"]])), TypeError, "a must be a numeric array, got dtype <U1"),
        (lambda: svdimg.truncated_svd(np.ones((4, 4)), 0), ValueError, "k must be at least 1, got 0"),
        (lambda: svdimg.truncated_svd(np.ones((4, 4)), 2.5), TypeError, "k must be an integer, got float"),
        (lambda: svdimg.truncated_svd(np.ones((2, 4, 4)), 2), ValueError, "a must be a 2-D array, got 3 dimensions"),
        (lambda: svdimg.truncated_svd(np.ones((4, 4)), 2, method="fast"), ValueError, "method must be 'auto', 'exact' or 'randomized', got 'fast'"),
        (lambda: svdimg.approximate(np.ones((4, 4, 5)), 1), ValueError, "image must be (H, W) or (H, W, C) with C in 1..4, got shape (4, 4, 5)"),
        (lambda: svdimg.approximate(np.ones((4, 4), np.int32), 1), TypeError, "image must be uint8, uint16 or float (on [0, 1]), got int32"),
        (lambda: svdimg.approximate(np.ones((4, 4)), -1), ValueError, "rank must be at least 1, got -1"),
        (lambda: svdimg.compress(np.ones((4, 4)), rank=2, psnr=30), ValueError, "give at most one target, got rank, psnr"),
        (lambda: svdimg.compress(np.ones((8, 8)), max_bytes=10), ValueError, "cannot fit in 10 bytes: the smallest file for this image is"),
        (lambda: svdimg.decompress(b"not an svdz file"), ValueError, "not an .svdz file (the first bytes are not the .svdz signature)"),
        (lambda: svdimg.decompress(b""), ValueError, "the .svdz file is truncated"),
        (lambda: svdimg.load("/nonexistent/x.png"), FileNotFoundError, "No such file or directory"),
        (lambda: svdimg.psnr(np.ones((2, 2)), np.ones((2, 3))), ValueError, "the images differ in shape: (2, 2) and (2, 3)"),
    ],
)
def test_bad_input_raises_a_clear_error(call, exc, message):
    with pytest.raises(exc) as info:
        call()
    assert message in str(info.value)


def test_a_decoder_error_names_the_problem():
    img, _ = svdimg.load_sample()
    for data in [bytearray(svdimg.compress(img, psnr=25)), bytearray(svdimg.compress(img, rank=40))]:
        data[-1] ^= 0xFF
        with pytest.raises(ValueError, match="corrupt .svdz block: checksum mismatch"):
            svdimg.decompress(bytes(data))
    # A rank target writes version 1, whose first components come first: a prefix still
    # decodes when a later block is damaged.
    assert svdimg.decompress(bytes(data), rank=1).shape == img.shape


def test_a_truncated_file_is_an_error_unless_allowed(tmp_path):
    webp = pathlib.Path(__file__).resolve().parents[2] / "svdimg" / "tests" / "data" / "lossy.webp"
    data = webp.read_bytes()
    cut = tmp_path / "cut.webp"
    cut.write_bytes(data[:-1])
    message = f"the image is truncated (WebP data ends at byte {len(data) - 1} of {len(data)})"
    with pytest.raises(ValueError) as info:
        svdimg.load(cut)
    assert str(info.value) == message
    with pytest.warns(UserWarning, match=r"cut\.webp'?: the image is truncated \(WebP data ends"):
        img, meta = svdimg.load(cut, allow_truncated=True)
    assert img.shape == (128, 128, 3)
    assert meta["truncated"] == f"WebP data ends at byte {len(data) - 1} of {len(data)}"
    _, full_meta = svdimg.load(webp)
    assert full_meta["truncated"] is None


# --- the GIL -------------------------------------------------------------------------


def test_the_gil_is_released_during_the_svd():
    a = np.random.default_rng(0).standard_normal((1500, 1500))
    ticks = []
    done = threading.Event()

    def work():
        svdimg.svd(a)
        done.set()

    thread = threading.Thread(target=work)
    start = time.perf_counter()
    thread.start()
    while not done.is_set():
        ticks.append(time.perf_counter())
        time.sleep(0.005)
    thread.join()
    elapsed = time.perf_counter() - start
    # With the GIL held for the whole SVD, the loop would tick about once.
    assert elapsed > 0.1 and len(ticks) > 10, (elapsed, len(ticks))
