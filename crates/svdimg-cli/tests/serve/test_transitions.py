"""What the explorer shows while work for an older picture or setting is still arriving:
every number and label on screen belongs to the picture on screen. One test per defect
that a learner saw (issue 23), each asserting the states the page passes through, not
only where it ends."""

import io
import json
import urllib.request

import numpy as np
from PIL import Image

from conftest import shared_image
from test_browser import drop, open_sample, set_slider, wait_painted

# Records, on every change of the numbers, labels or status, what the page shows beside
# which picture: the trail the tests below check state by state.
RECORDER = """() => {
    const $ = (s) => document.querySelector(s);
    window.trail = [];
    const note = () => window.trail.push({
        image: $('#images').value,
        painted: $('#approx').dataset.painted,
        exact: $('#approx').dataset.exact,
        psnr: $('#psnr').textContent,
        storage: $('#storage').textContent,
        svdz: $('#svdz-size').textContent,
        tag: $('#tag-a').textContent,
        status: $('#status').textContent,
        progress: !$('#progress').hidden,
    });
    const observer = new MutationObserver(note);
    for (const el of [$('#numbers'), $('#tag-a'), $('#status'), $('#approx')]) {
        observer.observe(el, { subtree: true, characterData: true, childList: true, attributes: true });
    }
    note();
}"""


def api(server, path):
    with urllib.request.urlopen(server.url.rstrip("/") + path) as r:
        return json.loads(r.read())


def upload_bytes(server, data, name):
    req = urllib.request.Request(f"{server.url}api/images?name={name}", data=data, method="POST")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def png_bytes(array):
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def drop_array(page, tmp_path, array, name):
    path = tmp_path / name
    Image.fromarray(array).save(path)
    drop(page, path)
    return path


def wait_numbers(page, query, sizes=False, timeout=60000):
    key = "sizes" if sizes else "query"
    page.wait_for_function(
        f"q => document.querySelector('#numbers').dataset.{key} === q", arg=query, timeout=timeout
    )


def test_a_new_picture_never_shows_the_last_ones_numbers(serve, page):
    """Defect 1: after a new picture opens, each number is '…' (or 'measuring…') until the
    new picture's own value arrives; the old picture's value is never shown beside it."""
    server = serve(shared_image("chelsea.png"), shared_image("coffee.png"))
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    set_slider(page, "k", 37)
    wait_numbers(page, "mode=rgb&k=37", sizes=True)
    old = {"psnr": page.inner_text("#psnr"), "storage": page.inner_text("#storage"), "svdz": page.inner_text("#svdz-size")}
    page.evaluate(RECORDER)
    page.select_option("#images", "f2")
    wait_painted(page, "mode=rgb&k=10")
    wait_numbers(page, "mode=rgb&k=10", sizes=True)
    trail = page.evaluate("() => window.trail")
    stats = api(server, "/api/images/f2/stats?mode=rgb&k=10")
    new_psnr = f"{stats['psnr_db']:.2f} dB"
    seen = [t for t in trail if t["image"] == "f2"]
    assert seen and seen[0]["psnr"] == "…", seen[:2]
    for t in seen:
        assert t["psnr"] in ("…", new_psnr), t
        for key in ("psnr", "storage", "svdz"):
            assert t[key] != old[key], t
        # A number is only ever shown beside the picture it describes.
        if t["psnr"] != "…":
            assert t["painted"] == "mode=rgb&k=10", t
    assert page.inner_text("#psnr") == new_psnr


def test_a_new_picture_starts_from_its_own_defaults(serve, page, tmp_path):
    """Defect 2: a gray picture, then a 1×1 one, then a colour photo: each opens in its own
    defaults (gray for gray, RGB with one k for colour, k = 10 or less when it is small)."""
    server = serve(shared_image("camera.png"), shared_image("chelsea.png"))
    page.goto(server.url)
    wait_painted(page, "mode=gray&k=10")
    set_slider(page, "k", 3)
    wait_painted(page, "mode=gray&k=3")
    drop_array(page, tmp_path, np.array([[[200, 40, 10]]], dtype=np.uint8), "dot.png")
    wait_painted(page, "mode=rgb&k=1")
    assert page.is_checked("input[name=mode][value=rgb]")
    page.select_option("#images", "f2")
    wait_painted(page, "mode=rgb&k=10")
    assert page.is_checked("input[name=mode][value=rgb]")
    assert page.input_value("#n-k") == "10"
    assert "k=10" in page.url and "mode=rgb" in page.url


def test_a_large_picture_shows_progress_and_labels_that_tell_the_truth(serve, page, tmp_path):
    """Defect 3: a 6.8 MP photo. Its preview comes first, with a progress bar and a status
    saying the exact factors are on the way; a lesson rank paints from the preview; the page
    asks for pixels at the screen's size, not the photo's; "exact factors ready" is never
    beside a "(preview)" label; and when they are in, nothing says preview any more."""
    server = serve()
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    rng = np.random.default_rng(1)
    coffee = Image.open(shared_image("coffee.png")).convert("RGB").resize((3000, 2250))
    photo = np.clip(np.asarray(coffee, dtype=np.int16) + rng.integers(-6, 7, (2250, 3000, 3)), 0, 255).astype(np.uint8)
    path = tmp_path / "large.jpg"
    Image.fromarray(photo).save(path, quality=90)
    page.evaluate(RECORDER)
    drop(page, path)
    page.wait_for_function("() => document.querySelector('#tag-a').textContent.includes('(preview)')", timeout=60000)
    assert page.is_visible("#progress")
    assert "exact factors" in page.inner_text("#status")
    # The canvas holds the picture at the screen's size.
    assert page.eval_on_selector("#approx", "c => c.width") < 3000 / 2
    page.click("[data-k='50']")
    wait_painted(page, "mode=rgb&k=50", timeout=60000)
    page.wait_for_function("() => !document.querySelector('#tag-a').textContent.includes('(preview)')", timeout=120000)
    page.wait_for_function("() => document.querySelector('#progress').hidden")
    assert "preview" not in page.inner_text("#status").lower()
    trail = page.evaluate("() => window.trail")
    large = [t for t in trail if t["image"] not in ("sample", "")]
    for t in large:
        if "(preview)" in t["tag"]:
            assert "ready" not in t["status"], t
            assert t["progress"], json.dumps(large)
        # The label names the ranks painted.
        if t["tag"].startswith("rank ") and t["painted"] == "mode=rgb&k=50":
            assert t["tag"].startswith("rank 50,50,50"), t


def test_the_status_line_clears_when_it_stops_being_true(serve, page):
    """Defect 4: "k = N is the smallest rank for 40 dB" goes when k or the mode changes."""
    open_sample(serve, page)
    page.click("[data-psnr='40']")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('smallest rank for 40 dB')")
    k = int(page.inner_text("#status").split()[2])
    wait_painted(page, f"mode=rgb&k={k}")
    set_slider(page, "k", k + 1)
    wait_painted(page, f"mode=rgb&k={k + 1}")
    assert page.inner_text("#status") == ""
    page.click("[data-psnr='30']")
    page.wait_for_function("() => document.querySelector('#status').textContent.includes('for 30 dB')")
    page.check("input[name=mode][value=gray]")
    page.wait_for_function("() => document.querySelector('#status').textContent === ''")


def test_labels_say_which_picture_is_which(serve, page):
    """Defect 5: holding the original says "original"; the swipe names both sides."""
    open_sample(serve, page)
    assert page.inner_text("#tag-a") == "rank 10,10,10"
    page.focus("#stage")
    page.keyboard.down("f")
    page.wait_for_selector("#orig-over:not([hidden])")
    assert page.inner_text("#tag-a") == "original"
    page.keyboard.up("f")
    page.wait_for_selector("#orig-over", state="hidden")
    assert page.inner_text("#tag-a") == "rank 10,10,10"
    page.click("[data-view=swipe]")
    page.wait_for_selector("#orig-over:not([hidden])")
    assert "original" in page.inner_text("#tag-a")
    assert page.is_visible("#tag-right") and "rank 10,10,10" in page.inner_text("#tag-right")
    left = page.locator("#tag-a").bounding_box()
    right = page.locator("#tag-right").bounding_box()
    assert right["x"] > left["x"] + left["width"]


def spectrum_colours(page):
    """The number of pixels of each plane's colour on the spectrum canvas."""
    url = page.eval_on_selector("#spectrum", "c => c.toDataURL('image/png')")
    import base64

    rgb = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB")).astype(int)
    red = ((rgb[..., 0] > 180) & (rgb[..., 1] < 90) & (rgb[..., 2] < 90)).sum()
    return rgb, red


def test_the_spectrum_is_sharp_and_never_an_empty_frame(serve, chromium, tmp_path):
    """Defect 6: drawn at the screen's resolution (no stretched canvas), and a 1×1 and a
    40×1 picture still get their singular values drawn."""
    server = serve()
    context = chromium.new_context(viewport={"width": 1400, "height": 1000}, device_scale_factor=2)
    page = context.new_page()
    try:
        page.goto(server.url)
        wait_painted(page, "mode=rgb&k=10")
        page.wait_for_function("() => document.querySelector('#spectrum').dataset.drawn === '256'")
        width, client = page.eval_on_selector("#spectrum", "c => [c.width, c.clientWidth]")
        assert width == 2 * client
        # The legend sits above the plot: no plane colour in the top band is on a curve.
        for name, array in (("one.png", np.array([[[220, 30, 30]]], dtype=np.uint8)),
                            ("line.png", np.tile(np.array([[[220, 30, 30]]], dtype=np.uint8), (1, 40, 1)) + np.arange(40, dtype=np.uint8)[None, :, None])):
            drop_array(page, tmp_path, array, name)
            page.wait_for_function("n => document.querySelector('#images').selectedOptions[0]?.text.startsWith(n)", arg=name)
            wait_painted(page, "mode=rgb&k=1")
            page.wait_for_function("() => document.querySelector('#spectrum').dataset.drawn === '1'")
            _, red = spectrum_colours(page)
            assert red > 20, red
    finally:
        context.close()


def test_the_slider_is_fine_where_the_lessons_work(serve, page):
    """Defect 7: k = 1…50 takes at least 40% of the track; keys step k by exactly 1."""
    server = serve(shared_image("chelsea.png"))
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    track = page.eval_on_selector("#k-k", "r => Number(r.max) - Number(r.min)")
    set_slider(page, "k", 1)
    wait_painted(page, "mode=rgb&k=1")
    p1 = float(page.input_value("#k-k"))
    set_slider(page, "k", 50)
    wait_painted(page, "mode=rgb&k=50")
    p50 = float(page.input_value("#k-k"))
    assert (p50 - p1) / track >= 0.4
    page.focus("#k-k")
    page.keyboard.press("ArrowRight")
    wait_painted(page, "mode=rgb&k=51")
    page.keyboard.press("End")
    wait_painted(page, "mode=rgb&k=300")
    page.keyboard.press("ArrowLeft")
    wait_painted(page, "mode=rgb&k=299")
    # Every k is reachable by dragging: each position maps to a rank, and the track ends
    # at min(m, n).
    page.eval_on_selector("#k-k", "r => { r.value = r.max; r.dispatchEvent(new Event('input', { bubbles: true })); }")
    wait_painted(page, "mode=rgb&k=300")


def test_a_thin_picture_keeps_the_page_sane(serve, page, tmp_path):
    """Defect 8: a 40×1 picture's component tiles keep a sane size."""
    open_sample(serve, page)
    column = np.tile(np.arange(40, dtype=np.uint8)[:, None, None] * 6, (1, 1, 3))
    drop_array(page, tmp_path, column, "column.png")
    page.wait_for_function("() => document.querySelector('#images').selectedOptions[0]?.text.startsWith('column.png')")
    wait_painted(page, "mode=rgb&k=1")
    page.wait_for_function("() => document.querySelector('#components img')?.complete")
    page.wait_for_timeout(300)
    assert page.evaluate("() => document.documentElement.scrollHeight") < 4000
    for box in page.locator("#components img, #sums img").all():
        b = box.bounding_box()
        assert b["height"] <= 200 and b["width"] <= 200, b


def test_per_channel_ranks_survive_the_spectrum_and_mode_switches(serve, page):
    """Defect 9: arrow keys on the spectrum step each channel's k; a mode switch carries k."""
    server = serve(shared_image("chelsea.png"))
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    set_slider(page, "k", 37)
    wait_painted(page, "mode=rgb&k=37")
    page.check("input[name=mode][value=channels]")
    wait_painted(page, "mode=rgb&kr=37&kg=37&kb=37")
    set_slider(page, "kr", 1)
    set_slider(page, "kg", 299)
    set_slider(page, "kb", 299)
    wait_painted(page, "mode=rgb&kr=1&kg=299&kb=299")
    page.wait_for_function("() => document.querySelector('#spectrum').dataset.drawn === '300'")
    page.focus("#spectrum")
    page.keyboard.press("ArrowRight")
    wait_painted(page, "mode=rgb&kr=2&kg=300&kb=300")
    page.check("input[name=mode][value=ycbcr]")
    wait_painted(page, "mode=ycbcr&ky=300&kc=5")
    page.check("input[name=mode][value=rgb]")
    wait_painted(page, "mode=rgb&k=300")


def test_the_url_and_the_names(serve, page, tmp_path):
    """Defect 10: an edited URL changes the view in the same tab; an upload keeps its name
    in the picker, its downloads and after a reload; the picker shows file names, not the
    server's paths."""
    server = serve(shared_image("chelsea.png"))
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    assert page.locator("#images option").all_inner_texts() == ["chelsea.png"]
    page.evaluate("() => { location.hash = '#image=f1&mode=gray&k=7&view=split'; }")
    wait_painted(page, "mode=gray&k=7")
    assert page.is_checked("input[name=mode][value=gray]")
    assert page.get_attribute("[data-view=split]", "aria-pressed") == "true"
    sample = np.asarray(Image.open(shared_image("astronaut.png")).convert("RGB"))[::4, ::4]
    drop_array(page, tmp_path, sample, "my-cat.png")
    page.wait_for_function("() => document.querySelector('#images').selectedOptions[0]?.text.startsWith('my-cat.png')")
    wait_painted(page, "mode=rgb&k=10")
    assert page.get_attribute("#dl-png", "download").startswith("my-cat-")
    with page.expect_download() as download:
        page.click("#dl-gallery")
    assert download.value.suggested_filename == "my-cat-gallery.png"
    page.reload()
    wait_painted(page, "mode=rgb&k=10")
    assert page.locator("#images").evaluate("s => s.selectedOptions[0].text").startswith("my-cat.png")
    assert page.get_attribute("#dl-svdz", "download") == "my-cat.svdz"


def test_the_layout_on_a_desktop_and_a_phone(serve, chromium, phone):
    """Defect 11: the lesson's ranks on one line at 1400 px; on a phone the slider is above
    the fold and side by side stacks; at full rank A − A_k is white, not a ghost."""
    server = serve()
    desk = chromium.new_context(viewport={"width": 1400, "height": 1000})
    page = desk.new_page()
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    tops = {round(b.bounding_box()["y"]) for b in page.locator("button[data-k]").all()}
    assert len(tops) == 1, tops
    desk.close()
    page = phone
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    slider = page.locator("#k-k").bounding_box()
    assert slider["y"] + slider["height"] <= 844
    page.click("[data-view=split]")
    page.wait_for_selector("#pane-b:not([hidden])")
    a = page.locator("#pane-a").bounding_box()
    b = page.locator("#pane-b").bounding_box()
    assert b["y"] >= a["y"] + a["height"] - 1 and b["width"] > 300
    with urllib.request.urlopen(f"{server.url}api/images/sample/component?mode=rgb&plane=0&remainder=256") as r:
        rest = np.asarray(Image.open(io.BytesIO(r.read())).convert("RGB")).astype(int)
    assert (np.abs(rest - 247) <= 3).all(axis=2).mean() > 0.99
