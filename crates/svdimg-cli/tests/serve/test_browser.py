"""`svdimg serve` end to end in headless Chromium: the page's pixels and numbers against
the CLI, colour modes, downloads, errors, reloads and the keyboard."""

import base64
import io
import json
import os
import subprocess

import numpy as np
from PIL import Image

from conftest import ROOT, shared_image


def drop(page, path):
    """Drops a file on the page as a user's drag and drop does."""
    data = base64.b64encode(path.read_bytes()).decode()
    page.evaluate(
        """([b64, name]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const dt = new DataTransfer();
            dt.items.add(new File([bytes], name));
            document.querySelector('#stage').dispatchEvent(
                new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
        }""",
        [data, path.name],
    )


def open_sample(serve, page):
    """A server on the sample, and the page showing it at its first rank (10)."""
    server = serve()
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    return server


def set_slider(page, key, value):
    """Types a rank into the number box beside slider `key`, as a user can."""
    page.evaluate(
        """([key, value]) => {
            const el = document.querySelector(`#n-${key}`);
            el.value = value;
            el.dispatchEvent(new Event('change', { bubbles: true }));
        }""",
        [key, value],
    )


def wait_painted(page, query, timeout=60000):
    page.wait_for_function(
        "q => document.querySelector('#approx').dataset.painted === q", arg=query, timeout=timeout
    )


def canvas_pixels(page, selector="#approx"):
    url = page.eval_on_selector(selector, "c => c.toDataURL('image/png')")
    png = base64.b64decode(url.split(",", 1)[1])
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(np.int64)


def psnr(a, b):
    mse = np.mean((a - b) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def cli_approx(binary, image, k, tmp_path, gray=False):
    out = tmp_path / f"cli-k{k}.png"
    source = ["--sample"] if image == "--sample" else [str(image)]
    args = [str(binary), "approx", *source, "-k", str(k), "--method", "exact", "-o", str(out), "--json"]
    if gray:
        args.append("--gray")
    report = json.loads(subprocess.run(args, check=True, capture_output=True, text=True).stdout)
    return np.asarray(Image.open(out).convert("RGB")).astype(np.int64), report


def test_drop_slider_and_psnr_match_the_cli(serve, page, svdimg_bin, tmp_path):
    open_sample(serve, page)
    photo = shared_image("chelsea.png")
    drop(page, photo)
    page.wait_for_function("() => document.querySelector('#images').selectedOptions[0]?.text.startsWith('chelsea.png')")
    wait_painted(page, "mode=rgb&k=10")
    set_slider(page, "k", 37)
    wait_painted(page, "mode=rgb&k=37")
    expected, report = cli_approx(svdimg_bin, photo, 37, tmp_path)
    shown = canvas_pixels(page)
    assert shown.shape == expected.shape
    assert psnr(shown, expected) >= 60, psnr(shown, expected)
    # The numbers are the CLI's.
    page.wait_for_function("() => document.querySelector('#numbers').dataset.query === 'mode=rgb&k=37'")
    assert page.inner_text("#psnr") == f"{report['psnr_db']:.2f} dB"
    assert page.inner_text("#ssim") == f"{report['ssim']:.4f}"
    assert f"({100 * report['ratio']:.1f}%)" in page.inner_text("#storage")
    # Sizes come when the slider rests: the real .svdz, the input and JPEG at that PSNR.
    page.wait_for_function("() => document.querySelector('#numbers').dataset.sizes === 'mode=rgb&k=37'", timeout=60000)
    assert "KiB" in page.inner_text("#svdz-size")
    assert "quality" in page.inner_text("#jpeg-size")
    # The README's screenshot: SVDIMG_SCREENSHOT=docs/images/serve.jpg (Playwright picks the
    # format by the extension).
    shot = os.environ.get("SVDIMG_SCREENSHOT")
    if shot:
        page.wait_for_timeout(1500)
        page.screenshot(path=shot)


def test_colour_modes(serve, page, svdimg_bin, tmp_path):
    open_sample(serve, page)
    set_slider(page, "k", 20)
    wait_painted(page, "mode=rgb&k=20")
    # The rank is carried across colour models.
    page.check("input[name=mode][value=ycbcr]")
    wait_painted(page, "mode=ycbcr&ky=20&kc=5")
    set_slider(page, "kc", 0)
    wait_painted(page, "mode=ycbcr&ky=20&kc=0")
    shown = canvas_pixels(page)
    # Luma alone: a gray picture.
    assert np.abs(shown[..., 0] - shown[..., 1]).max() <= 1
    assert np.abs(shown[..., 1] - shown[..., 2]).max() <= 1
    page.check("input[name=mode][value=channels]")
    wait_painted(page, "mode=rgb&kr=20&kg=20&kb=20")
    set_slider(page, "kb", 3)
    wait_painted(page, "mode=rgb&kr=20&kg=20&kb=3")
    page.check("input[name=mode][value=gray]")
    wait_painted(page, "mode=gray&k=20")
    expected, _ = cli_approx(svdimg_bin, "--sample", 20, tmp_path, gray=True)
    assert psnr(canvas_pixels(page), expected) >= 60


def test_svdz_download_decodes_with_the_cli(serve, page, svdimg_bin, tmp_path):
    open_sample(serve, page)
    set_slider(page, "k", 15)
    wait_painted(page, "mode=rgb&k=15")
    with page.expect_download() as download:
        page.click("#dl-svdz")
    path = tmp_path / "download.svdz"
    download.value.save_as(path)
    out = tmp_path / "decoded.png"
    done = subprocess.run([str(svdimg_bin), "decompress", str(path), "-o", str(out), "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    decoded = np.asarray(Image.open(out).convert("RGB")).astype(np.int64)
    shown = canvas_pixels(page)
    # The file stores rank 15 per channel, quantised to within a fraction of a dB of the
    # approximation on screen.
    original = sample_pixels()
    assert psnr(decoded, original) >= psnr(shown, original) - 0.3
    with page.expect_download() as download:
        page.click("#dl-png")
    png = tmp_path / "shown.png"
    download.value.save_as(png)
    assert (np.asarray(Image.open(png).convert("RGB")).astype(np.int64) == shown).all()


def test_a_bad_file_shows_the_library_error(serve, page, tmp_path):
    open_sample(serve, page)
    bad = tmp_path / "notes.png"
    bad.write_text("these are not pixels")
    page.set_input_files("#file", str(bad))
    page.wait_for_selector("#error:not([hidden])")
    assert page.inner_text("#error") == "notes.png: not a recognised image format"
    # The page goes on working.
    set_slider(page, "k", 4)
    wait_painted(page, "mode=rgb&k=4")


def test_reload_restores_the_state(serve, page):
    open_sample(serve, page)
    page.check("input[name=mode][value=ycbcr]")
    set_slider(page, "ky", 12)
    set_slider(page, "kc", 3)
    page.click("[data-view=split]")
    wait_painted(page, "mode=ycbcr&ky=12&kc=3")
    url = page.url
    assert "mode=ycbcr" in url and "ky=12" in url and "view=split" in url
    page.reload()
    wait_painted(page, "mode=ycbcr&ky=12&kc=3")
    assert page.is_checked("input[name=mode][value=ycbcr]")
    assert page.input_value("#n-ky") == "12"
    assert page.get_attribute("#k-ky", "data-k") == "12"
    assert page.get_attribute("[data-view=split]", "aria-pressed") == "true"
    assert page.is_visible("#pane-b")


def test_keyboard(serve, page):
    open_sample(serve, page)
    page.focus("#k-k")
    page.keyboard.press("ArrowRight")
    wait_painted(page, "mode=rgb&k=11")
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    wait_painted(page, "mode=rgb&k=9")
    # Tab reaches the lesson's buttons; Enter presses one.
    page.focus("[data-k='4']")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    wait_painted(page, "mode=rgb&k=5")
    # Holding F shows the original over the approximation.
    page.focus("#stage")
    page.keyboard.down("f")
    page.wait_for_selector("#orig-over:not([hidden])")
    assert (canvas_pixels(page, "#orig-over") == sample_pixels()).all()
    page.keyboard.up("f")
    page.wait_for_selector("#orig-over", state="hidden")


def sample_pixels():
    """The built-in sample's pixels, from the library's own copy."""
    path = ROOT / "crates" / "svdimg" / "assets" / "astronaut-256.png"
    return np.asarray(Image.open(path).convert("RGB")).astype(np.int64)


def test_difference_view_is_white_where_nothing_is_lost(serve, page):
    open_sample(serve, page)
    page.click("[data-view=diff]")
    set_slider(page, "k", 256)
    wait_painted(page, "mode=rgb&k=256")
    page.wait_for_timeout(300)
    # Every component: the difference is 0 (or a rounding step), the map's white (247).
    white = canvas_pixels(page)
    assert (np.abs(white - 247) <= 12).all(axis=2).mean() > 0.99
    set_slider(page, "k", 1)
    wait_painted(page, "mode=rgb&k=1")
    page.wait_for_timeout(300)
    # One component: large differences, far from white.
    coloured = canvas_pixels(page)
    assert (np.abs(coloured - 247) > 60).any(axis=2).mean() > 0.2
    # Side by side: the original pane holds the original.
    page.click("[data-view=split]")
    page.wait_for_selector("#pane-b:not([hidden])")
    assert (canvas_pixels(page, "#orig") == sample_pixels()).all()


def test_a_phone_screen_gets_one_column(serve, phone):
    server = serve()
    page = phone
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    # Nothing wider than the screen, and the slider below the image.
    assert page.evaluate("() => document.documentElement.scrollWidth") <= 390
    viewer = page.locator("#viewer").bounding_box()
    slider = page.locator("#k-k").bounding_box()
    assert slider["y"] > viewer["y"] + viewer["height"] - 1
    assert slider["width"] > 100
