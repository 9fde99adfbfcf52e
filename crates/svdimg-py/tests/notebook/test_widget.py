"""svdimg.widget.Explorer in the kernel, without a browser: its traits, the picture it shows
against the CLI, the view's questions, bad inputs, and the page bundle it sends."""

import shutil
import subprocess

import numpy as np
import pytest

pytest.importorskip("anywidget")

import svdimg  # noqa: E402
from svdimg import _bundle  # noqa: E402
from svdimg.widget import Explorer  # noqa: E402
from traitlets import TraitError  # noqa: E402

from conftest import SHARED, psnr, read_png  # noqa: E402

SAMPLE = svdimg.load_sample()[0]


class Replies:
    """What the widget sends to its view, in order."""

    def __init__(self, widget):
        self.sent = []
        widget.send = lambda content, buffers=None: self.sent.append((content, buffers or []))
        self.widget = widget

    def ask(self, op, **args):
        self.widget._answer(self.widget, {"op": op, "args": args, "id": 7, "view": "v"}, [])
        # The slow questions are answered from the worker thread: wait for it.
        self.widget._worker.submit(lambda: None).result()
        content, buffers = self.sent.pop()
        assert content["id"] == 7 and content["view"] == "v"
        return content, buffers


def test_image_and_numbers_equal_the_cli_at_each_k(cli_approx):
    w = Explorer(SAMPLE, k=20)
    assert (w.mode, w.k, w.ranks) == ("rgb", 20, [20, 20, 20])
    for k in (20, 37, 256):
        w.k = k
        assert w.ranks == [k, k, k]
        shown = read_png(w.image)
        expected = cli_approx(k)
        assert psnr(shown, expected) >= 60.0
        np.testing.assert_array_equal(shown, expected)
        assert w.psnr == pytest.approx(svdimg.psnr(SAMPLE, expected), abs=1e-6) or k == 256
        assert w.ssim == pytest.approx(svdimg.ssim(SAMPLE, expected), abs=1e-6)
    # Full rank is exact up to rounding: the PSNR is infinite or very high.
    assert w.psnr > 60


def test_gray_mode_from_a_path_is_the_cli_gray(cli_approx):
    path = SHARED / "images" / "coffee.png"
    if not path.exists():
        pytest.skip("the shared photos are not here")
    w = Explorer(path, k=7, mode="gray")
    assert (w.mode, w.ranks) == ("gray", [7])
    shown = read_png(w.image)
    expected = cli_approx(7, image=path, gray=True)
    assert shown.shape == expected.shape
    # Equal but for a rare ±1 where the gray plane's products round the other way.
    assert psnr(shown, expected) >= 60.0
    assert np.abs(shown.astype(int) - expected).max() <= 1


def test_mode_and_rank_changes_from_python_carry_the_rank():
    w = Explorer(SAMPLE, k=12)
    full = w.factor_bytes
    w.mode = "channels"
    assert (w.ranks, w.k) == ([12, 12, 12], 12)
    w.ranks = [5, 10, 20]
    channels = w.psnr
    assert w.k == 12 and channels != Explorer(SAMPLE, k=12).psnr
    w.mode = "ycbcr"
    # The luma takes the largest channel rank; the chroma starts at 5, as in the page.
    assert w.ranks == [20, 5, 5]
    w.k = 8
    assert w.ranks == [8, 8, 8]
    w.mode = "gray"
    assert w.ranks == [8]
    # One factorisation at a time: the gray plane's is a third of the three planes'.
    assert w.factor_bytes * 3 == full
    w.mode = "rgb"
    assert w.ranks == [8, 8, 8] and w.factor_bytes == full


def test_numbers_arrive_in_the_background_without_being_read():
    w = Explorer(SAMPLE, k=20)
    w.k = 33
    # Nothing read yet: the worker measures k = 33 and publishes it.
    w._worker.submit(lambda: None).result()
    assert not w._numbers_stale
    expected = svdimg.psnr(SAMPLE, read_png(w.image))
    assert w._trait_values["psnr"] == pytest.approx(expected, abs=1e-6)
    # A number read before the worker is done is measured at once, for the new setting.
    w.k = 34
    assert w.psnr == pytest.approx(svdimg.psnr(SAMPLE, read_png(w.image)), abs=1e-6)
    w.close()


def test_bad_inputs_raise_clear_errors():
    with pytest.raises(ValueError, match=r"shape \(4, 4, 5\)"):
        Explorer(np.zeros((4, 4, 5), np.uint8))
    with pytest.raises(ValueError, match="empty"):
        Explorer(np.zeros((0, 4), np.uint8))
    nan = np.full((4, 4), 0.5)
    nan[1, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Explorer(nan)
    with pytest.raises(TypeError, match="uint8, uint16 or float"):
        Explorer(np.zeros((4, 4), np.int32))
    with pytest.raises(TraitError, match="k must be an integer of 1 or more, got 0"):
        Explorer(SAMPLE, k=0)
    gray = Explorer(SAMPLE[..., 0])
    assert (gray.mode, gray.ranks) == ("gray", [10])
    with pytest.raises(TraitError, match="the picture is gray"):
        gray.mode = "rgb"
    w = Explorer(SAMPLE)
    with pytest.raises(TraitError, match="mode must be one of rgb, channels, ycbcr, gray"):
        w.mode = "cmyk"
    with pytest.raises(TraitError, match="at least one plane needs a rank"):
        w.ranks = [0, 0, 0]
    with pytest.raises(TraitError, match="do not fit mode='rgb'|ranks"):
        w.mode = "channels"
        w.ranks = [1, 2]
    # A k above the short side is clamped, as svdimg approx clamps it.
    w.k = 10_000
    assert w.k == 256


def test_inputs_of_every_kind_give_the_same_picture(tmp_path):
    from PIL import Image

    base = Explorer(SAMPLE, k=15).image
    Image.fromarray(SAMPLE).save(tmp_path / "s.png")
    for image in (tmp_path / "s.png", str(tmp_path / "s.png"), Image.fromarray(SAMPLE)):
        assert read_png(Explorer(image, k=15).image).tolist() == read_png(base).tolist()
    # uint16 and float pictures keep 16-bit samples; their 8-bit picture agrees closely.
    wide = SAMPLE.astype(np.uint16) * 257
    for image in (wide, SAMPLE / 255.0):
        w = Explorer(image, k=15)
        assert abs(w.psnr - Explorer(SAMPLE, k=15).psnr) < 0.05


def test_the_views_questions_are_answered_with_binary_pixels():
    w = Explorer(SAMPLE, k=9)
    view = Replies(w)
    reply, buffers = view.ask("render", query="mode=rgb&k=9", scale=1)
    a = reply["answer"]
    assert (a["width"], a["height"], a["ranks"], a["exact"], a["maxRank"]) == (256, 256, "9,9,9", True, 256)
    pixels = np.frombuffer(bytes(buffers[0]), np.uint8).reshape(256, 256, 4)
    np.testing.assert_array_equal(pixels[..., :3], read_png(w.image))
    assert (pixels[..., 3] == 255).all()
    reply, buffers = view.ask("render", query="mode=rgb&kr=3&kg=9&kb=40", scale=2)
    assert reply["answer"]["width"] == 128 and len(buffers[0]) == 128 * 128 * 4
    stats = view.ask("stats", query="mode=rgb&k=9")[0]["answer"]
    assert stats["psnr_db"] == pytest.approx(w.psnr) and stats["ssim"] == pytest.approx(w.ssim)
    assert stats["stored_values"] == 3 * 9 * (256 + 256 + 1) and stats["ratio"] == pytest.approx(9 * 513 / 65536)
    spectrum = view.ask("spectrum", mode="rgb")[0]["answer"]
    assert [p["name"] for p in spectrum["planes"]] == ["r", "g", "b"]
    np.testing.assert_allclose(
        spectrum["planes"][0]["singular_values"][:5],
        svdimg.svdvals(SAMPLE[..., 0] / 255.0)[:5],
        rtol=1e-5,
    )
    vec = view.ask("vectors", mode="rgb", plane=1, i=2)[0]["answer"]
    assert vec["plane"] == "g" and len(vec["u"]) == 256 and vec["sigma"] == pytest.approx(spectrum["planes"][1]["singular_values"][1])
    tile = view.ask("component", mode="rgb", plane=0, part="i=1")[1][0]
    assert bytes(tile[:8]) == b"\x89PNG\r\n\x1a\n"
    rank = view.ask("rank", mode="rgb", psnr=30)[0]["answer"]
    assert rank["k"] > 9 and svdimg.psnr(SAMPLE, svdimg.approximate(SAMPLE, rank["k"], method="exact")) >= 30
    original, buffers = view.ask("original", gray=True, scale=1)
    px = np.frombuffer(bytes(buffers[0]), np.uint8).reshape(256, 256, 4)
    assert (px[..., 0] == px[..., 1]).all()
    # Bad questions get a 400 and a message, never an exception in the kernel.
    for op, args, message in (
        ("render", {"query": "mode=cmyk&k=3"}, "mode=cmyk"),
        ("vectors", {"mode": "rgb", "plane": 5, "i": 1}, "plane=5: the rgb model has 3 planes"),
        ("vectors", {"mode": "rgb", "plane": 0, "i": 999}, "components are numbered 1 to 256"),
        ("rank", {"mode": "rgb", "psnr": -1}, "use a positive number of dB"),
        ("teleport", {}, "unknown question 'teleport'"),
    ):
        reply, _ = view.ask(op, **args)
        assert reply["status"] == 400 and message in reply["error"], reply


def test_the_page_bundle_is_one_valid_module():
    esm = Explorer._esm
    assert esm.count("modules[\"app\"] = ") == 1 and "export default" in esm
    # Everything the page runs, and nothing of its HTTP transport's start.
    assert "modules[\"widget\"]" in esm and "modules[\"page\"]" not in esm
    node = shutil.which("node")
    if node:
        check = subprocess.run([node, "--input-type=module", "--check"], input=esm, text=True, capture_output=True)
        assert check.returncode == 0, check.stderr


def test_the_bundler_refuses_what_it_does_not_understand():
    with pytest.raises(ValueError, match="b.js line 1: an import or export form the bundle does not know"):
        _bundle.bundle({"a.js": "import { x } from './b.js';\nexport function render() {}", "b.js": "export default 1;"}, "a.js", "", "")
    with pytest.raises(ValueError, match="imports c.js, which is not in the page"):
        _bundle.bundle({"a.js": "import { x } from './c.js';"}, "a.js", "", "")
    with pytest.raises(ValueError, match="imports itself"):
        _bundle.bundle({"a.js": "import { x } from './b.js';", "b.js": "import { y } from './a.js';"}, "a.js", "", "")
