"""The widget in a real JupyterLab, in real Chromium: the notebook shows it, the keyboard moves
its slider, the canvas holds the CLI's pixels at the new k, and `w.k` in the kernel follows."""

import json
import time

import nbformat
import numpy as np

from conftest import psnr
from labserver import WIDGET, run_cell, wait_painted

SHOT = "widget-in-jupyterlab.png"


def notebook(path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(
            "import svdimg\nfrom svdimg.widget import Explorer\n"
            "w = Explorer(svdimg.load_sample()[0], k=12)\nw"
        ),
        nbformat.v4.new_code_cell("print(json.dumps({'k': w.k, 'ranks': w.ranks, 'psnr': round(w.psnr, 6)}))"),
    ]
    nb.cells[1].source = "import json\n" + nb.cells[1].source
    nb.cells.append(nbformat.v4.new_code_cell("w.k = 40"))
    nb.cells.append(nbformat.v4.new_code_cell("w.mode = 'gray'"))
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


def shadow(page, script):
    """Runs `script` with `root`, the widget's shadow root."""
    return page.evaluate(f"(script) => {{ const root = {WIDGET}; return eval(script); }}", script)


def canvas_pixels(page):
    data = shadow(
        page,
        "(() => { const c = root.querySelector('#approx');"
        " return { w: c.width, h: c.height, px: Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data) }; })()",
    )
    return np.array(data["px"], dtype=np.uint8).reshape(data["h"], data["w"], 4)


def last_output(page):
    text = page.locator(".jp-Cell").nth(1).locator(".jp-OutputArea-output").inner_text(timeout=60_000)
    return json.loads(text.strip().splitlines()[-1])


def test_slider_in_jupyterlab_matches_cli_and_kernel(lab, page, cli_approx, tmp_path):
    notebook(lab.root / "widget.ipynb")
    lab.open(page, "widget.ipynb")
    run_cell(page, 0)
    run_cell(page, 1)
    # The widget paints the kernel's setting: the exact rank-12 picture.
    wait_painted(page, "mode=rgb&k=12")
    first = last_output(page)
    assert (first["k"], first["ranks"]) == (12, [12, 12, 12])
    np.testing.assert_array_equal(canvas_pixels(page)[..., :3], cli_approx(12))

    # Three steps of the keyboard: k = 15 on screen...
    slider = page.locator("#k-k")
    slider.focus()
    for _ in range(3):
        slider.press("ArrowRight")
    wait_painted(page, "mode=rgb&k=15")
    shown = canvas_pixels(page)[..., :3]
    expected = cli_approx(15)
    assert psnr(shown, expected) >= 60.0
    np.testing.assert_array_equal(shown, expected)
    # ...and in the kernel, with the numbers of k = 15 (the notebook itself was not changed:
    # the keys went to the slider, not to JupyterLab's shortcuts).
    assert len(page.locator(".jp-Cell").all()) == 4
    run_cell(page, 1)
    deadline = time.time() + 60
    while (out := last_output(page))["k"] != 15 and time.time() < deadline:
        time.sleep(0.2)
    assert out["k"] == 15 and out["ranks"] == [15, 15, 15]
    assert abs(out["psnr"] - psnr(expected, read_sample())) < 1e-3
    # The numbers on screen are k = 15's.
    page.wait_for_function(
        f"() => {WIDGET}.querySelector('#numbers').dataset.query === 'mode=rgb&k=15'", timeout=60_000
    )
    text = shadow(page, "root.querySelector('#psnr').textContent")
    assert text == f"{out['psnr']:.2f} dB", text
    page.screenshot(path=str(tmp_path / SHOT), full_page=False)

    # From the kernel to the view: w.k = 40, then w.mode = 'gray', each painted as the CLI.
    run_cell(page, 2)
    wait_painted(page, "mode=rgb&k=40")
    np.testing.assert_array_equal(canvas_pixels(page)[..., :3], cli_approx(40))
    assert shadow(page, "root.querySelector('#k-k').dataset.k") == "40"
    run_cell(page, 3)
    wait_painted(page, "mode=gray&k=40")
    gray = canvas_pixels(page)
    assert (gray[..., 0] == gray[..., 1]).all()
    reference = cli_approx(40, gray=True)
    assert psnr(gray[..., 0], reference if reference.ndim == 2 else reference[..., 0]) >= 60
    assert shadow(page, "root.querySelector('input[name=mode][value=gray]').checked") is True


def read_sample():
    import svdimg

    return svdimg.load_sample()[0]


def layout(page):
    return shadow(
        page,
        "(() => { const v = root.querySelector('#viewer').getBoundingClientRect();"
        " const c = root.querySelector('#controls').getBoundingClientRect();"
        " const w = root.querySelector('.widget').getBoundingClientRect();"
        " return { viewerRight: v.right, viewerBottom: v.bottom, controlsLeft: c.left, controlsTop: c.top, width: w.width }; })()",
    )


def test_the_widget_lays_itself_out_by_its_own_width(lab, chromium):
    """Wide output: the controls beside the picture; an output narrower than 900 px (a laptop
    window with JupyterLab's side panel open) stacks them below, whatever the window's width."""
    notebook(lab.root / "layout.ipynb")
    for viewport, beside in (({"width": 1600, "height": 1000}, True), ({"width": 1100, "height": 900}, False)):
        context = chromium.new_context(viewport=viewport)
        page = context.new_page()
        lab.open(page, "layout.ipynb")
        if not beside:
            page.evaluate("() => window.jupyterapp.shell.expandLeft()")
        run_cell(page, 0)
        wait_painted(page, "mode=rgb&k=12")
        box = layout(page)
        if beside:
            assert box["width"] > 900 and box["controlsLeft"] >= box["viewerRight"] - 1, box
        else:
            assert box["width"] < 900 and box["controlsTop"] >= box["viewerBottom"] - 1, box
        context.close()
