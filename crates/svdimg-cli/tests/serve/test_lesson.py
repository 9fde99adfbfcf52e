"""The lesson mode: both lessons' steps on a photo, their numbers against NumPy's, and the
explanations beside every number, on a desktop and a phone."""

import json
import os

import numpy as np
from PIL import Image

from conftest import SHARED, shared_image
from test_browser import set_slider, wait_painted


def step_result(page, key):
    return page.inner_text(f"#lesson li[data-step={key}] pre.result")


def wait_lesson(page, k):
    page.wait_for_function(
        "k => document.querySelector('#lesson-steps').dataset.k === String(k)", arg=k, timeout=60000
    )


def test_the_lesson_measures_the_photo_as_numpy_does(serve, page):
    photo = shared_image("astronaut.png")
    reference = json.loads((SHARED / "reference" / "astronaut.json").read_text())
    server = serve(photo)
    page.goto(server.url + "#lesson")
    wait_painted(page, "mode=rgb&k=10")
    wait_lesson(page, 10)
    assert page.is_visible("#lesson")
    img = np.asarray(Image.open(photo))
    m, n = img.shape[:2]
    a = img / 255
    gray = a @ [0.2126, 0.7152, 0.0722]
    assert step_result(page, "array") == f"{img.shape}, uint8, {img.min()}, {img.max()}"
    assert step_result(page, "gray") == f"({m}, {n})"
    assert step_result(page, "svd").splitlines() == [f"(({m}, {m}), ({m},), ({n}, {n}))", f"({m}, {m})"]
    error, close = step_result(page, "rebuild").splitlines()
    U, s, Vt = np.linalg.svd(gray)
    assert float(error) < 1e-10 and close == "True"
    # Rank 10: the measured error and its Eckart–Young optimum, as NumPy computes them.
    approx = U[:, :10] @ np.diag(s[:10]) @ Vt[:10]
    measured, optimum = (float(x) for x in step_result(page, "rank").splitlines())
    assert abs(measured - np.linalg.norm(gray - approx)) < 2e-6
    assert abs(optimum - reference["planes"]["gray"]["optimal_error"]["10"]) < 2e-6
    assert step_result(page, "storage").startswith(f"({10 * (m + n + 1):,}, {m * n:,})")
    # The batched colour SVD, and the range before clipping.
    shapes, color_error, color_close = step_result(page, "color").splitlines()
    assert shapes == f"((3, {m}, {m}), (3, {m}), (3, {n}, {n}))"
    assert float(color_error) < 1e-10 and color_close == "True"
    t = np.transpose(a, (2, 0, 1))
    Uc, sc, Vtc = np.linalg.svd(t)
    ck = Uc[..., :10] @ (sc[:, :10, None] * Vtc[:, :10, :])
    assert step_result(page, "clip") == f"({ck.min():.4f}, {ck.max():.4f})"
    assert "Vt[i]" in page.inner_text("#lesson li[data-step=components]")
    assert float(step_result(page, "components")) < 1e-12
    sigmas = step_result(page, "spectrum")
    assert sigmas == "s[:5] = [" + ", ".join(f"{x:.4f}" for x in s[:5]) + "]"
    # Every step has its NumPy code to copy.
    steps = page.locator("#lesson li.step").count()
    assert steps >= 12
    assert page.locator("#lesson .code-head button").count() >= steps
    # The lesson follows the slider.
    set_slider(page, "k", 20)
    wait_lesson(page, 20)
    approx = U[:, :20] @ np.diag(s[:20]) @ Vt[:20]
    measured, optimum = (float(x) for x in step_result(page, "rank").splitlines())
    assert abs(measured - np.linalg.norm(gray - approx)) < 2e-6
    assert abs(optimum - reference["planes"]["gray"]["optimal_error"]["20"]) < 2e-6
    assert "#lesson" in page.url or "&lesson" in page.url
    shot = os.environ.get("SVDIMG_LESSON_SCREENSHOT")
    if shot:
        page.wait_for_timeout(1500)
        page.screenshot(path=shot)


def test_a_new_picture_gets_its_own_lesson(serve, page):
    server = serve(shared_image("astronaut.png"), shared_image("camera.png"))
    page.goto(server.url + "#lesson")
    wait_lesson(page, 10)
    page.select_option("#images", "f2")
    # Until camera's lesson arrives nothing of astronaut's is shown.
    page.wait_for_function("() => document.querySelector('#lesson-steps').dataset.token !== undefined")
    wait_lesson(page, 10)
    assert step_result(page, "array") == "(512, 512), uint8, 0, 255"
    assert page.locator("#lesson li[data-step=color]").count() == 0


def test_every_number_is_explained_on_a_phone(serve, phone):
    server = serve()
    page = phone
    page.goto(server.url)
    wait_painted(page, "mode=rgb&k=10")
    keys = page.eval_on_selector_all("button.info", "bs => bs.map((b) => b.dataset.explain)")
    for key in ("psnr", "ssim", "energy", "storage", "svdz", "jpeg", "sigma", "components"):
        assert key in keys, keys
    for i, button in enumerate(page.locator("button.info:visible").all()):
        target = button.get_attribute("aria-controls")
        assert page.is_hidden(f"#{target}")
        if i % 2:
            button.tap()
        else:
            button.focus()
            page.keyboard.press("Enter")
        page.wait_for_selector(f"#{target}:not([hidden])")
        assert button.get_attribute("aria-expanded") == "true"
        text = page.inner_text(f"#{target}")
        assert len(text) > 60, text
        box = page.locator(f"#{target}").bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390
