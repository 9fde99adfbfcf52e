"""Times NumPy's tutorial SVD calls against svdimg's, side by side in one run.

The image is ../shared/images/coffee.png resized (bilinear) to 768x1024, the size of the
tutorial's own photo. Calls alternate between NumPy and svdimg; each time is the best of
--repeats runs. Build the extension in release mode first:

    maturin develop --release -m crates/svdimg-py/Cargo.toml
    python crates/svdimg-py/examples/tutorial_timing.py --repeats 5
"""

import argparse
import pathlib
import time

import numpy as np

import svdimg


def resize(img, h, w):
    """Bilinear resize of an (H, W, C) array with NumPy only."""
    ys = np.linspace(0, img.shape[0] - 1, h)
    xs = np.linspace(0, img.shape[1] - 1, w)
    y0, x0 = np.floor(ys).astype(int), np.floor(xs).astype(int)
    y1, x1 = np.minimum(y0 + 1, img.shape[0] - 1), np.minimum(x0 + 1, img.shape[1] - 1)
    fy, fx = (ys - y0)[:, None, None], (xs - x0)[None, :, None]
    a = img.astype(np.float64)
    top = a[y0][:, x0] * (1 - fx) + a[y0][:, x1] * fx
    bottom = a[y1][:, x0] * (1 - fx) + a[y1][:, x1] * fx
    return top * (1 - fy) + bottom * fy


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = pathlib.Path(__file__).resolve().parents[3]
    img, _ = svdimg.load(root.parent / "shared" / "images" / "coffee.png")
    img_array = resize(img, 768, 1024) / 255
    gray = img_array @ [0.2126, 0.7152, 0.0722]
    batched = np.ascontiguousarray(np.transpose(img_array, (2, 0, 1)))
    gray32 = gray.astype(np.float32)
    cases = [
        ("gray, full_matrices=True (the tutorial's call)",
         lambda: np.linalg.svd(gray), lambda: svdimg.svd(gray)),
        ("gray, full_matrices=False",
         lambda: np.linalg.svd(gray, full_matrices=False), lambda: svdimg.svd(gray, full_matrices=False)),
        ("gray, compute_uv=False",
         lambda: np.linalg.svd(gray, compute_uv=False), lambda: svdimg.svd(gray, compute_uv=False)),
        ("batched (3, 768, 1024), full_matrices=True",
         lambda: np.linalg.svd(batched), lambda: svdimg.svd(batched)),
        ("float32 gray, full_matrices=False",
         lambda: np.linalg.svd(gray32, full_matrices=False), lambda: svdimg.svd(gray32, full_matrices=False)),
        ("first 50 components (NumPy: thin SVD; svdimg: truncated_svd)",
         lambda: np.linalg.svd(gray, full_matrices=False), lambda: svdimg.truncated_svd(gray32, 50)),
    ]
    print(f"NumPy {np.__version__}; best of {args.repeats}, interleaved\n")
    print("| call | NumPy | svdimg | NumPy / svdimg |")
    print("|---|---:|---:|---:|")
    for name, ours_np, ours_sv in cases:
        best = {"numpy": float("inf"), "svdimg": float("inf")}
        for _ in range(args.repeats):
            for key, fn in (("numpy", ours_np), ("svdimg", ours_sv)):
                start = time.perf_counter()
                fn()
                best[key] = min(best[key], time.perf_counter() - start)
        print(f"| {name} | {best['numpy']:.3f} s | {best['svdimg']:.3f} s | {best['numpy'] / best['svdimg']:.2f} |")


if __name__ == "__main__":
    main()
