"""Pictures that show themselves: Picture arrays, the rank gallery, the components and the
spectrum, with their numbers checked against the library's own."""

import re

import numpy as np
import pytest

import svdimg

IMG, _ = svdimg.load_sample()


def decode(png):
    array, _ = svdimg._native.decode(png)
    return array


def test_pictures_show_themselves_and_stay_arrays():
    assert isinstance(IMG, svdimg.Picture) and isinstance(IMG, np.ndarray)
    np.testing.assert_array_equal(decode(IMG._repr_png_()), IMG)
    out = svdimg.approximate(IMG, 12)
    assert type(out) is svdimg.Picture and out._repr_png_()[:4] == b"\x89PNG"
    # Anything computed from a picture is a plain array or number.
    assert type(IMG / 255) is np.ndarray and type(IMG - out) is np.ndarray
    assert type(IMG.mean()) is np.float64 and type(IMG.sum(axis=0)) is np.ndarray
    assert type(IMG[10:20]) is svdimg.Picture
    # Floats on [0, 1] show as 8 bits; what is not a picture shows no PNG.
    gray = svdimg.picture(IMG[..., 0] / 255)
    np.testing.assert_array_equal(decode(gray._repr_png_()), IMG[..., 0])
    assert svdimg.picture(np.zeros((3, 4, 7)))._repr_png_() is None
    assert svdimg.picture(np.array([np.nan]).reshape(1, 1))._repr_png_() is None
    assert svdimg.picture(np.zeros((2, 2), np.int64))._repr_png_() is None
    sixteen = svdimg.picture((IMG.astype(np.uint16) * 257))
    np.testing.assert_array_equal(decode(sixteen._repr_png_()), IMG.astype(np.uint16) * 257)


def test_gallery_is_each_rank_with_its_psnr():
    g = svdimg.gallery(IMG, ranks=[1, 10, 300])
    assert g.ranks == [1, 10, 256]
    for k, p, picture in zip(g.ranks, g.psnr, g.pictures):
        # As approximate gives it, but for a rare ±1 where float32 products round apart.
        assert np.abs(picture.astype(int) - svdimg.approximate(IMG, k, method="exact")).max() <= 1
        if k < 256:
            assert p == pytest.approx(svdimg.psnr(IMG, picture), abs=1e-6)
    html = g._repr_html_()
    assert html.count("<img") == 3 and "rank 10, " in html and "data:image/png;base64," in html
    gray = svdimg.gallery(IMG, ranks=[5], mode="gray")
    assert gray.pictures[0].ndim == 2
    with pytest.raises(ValueError, match="ranks must be integers of 1 or more"):
        svdimg.gallery(IMG, ranks=[0])
    with pytest.raises(ValueError, match="mode must be gray, rgb or ycbcr"):
        svdimg.gallery(IMG, mode="cmyk")
    with pytest.raises(ValueError, match="the picture is gray"):
        svdimg.gallery(IMG[..., 0], mode="rgb")


def test_components_and_spectrum():
    c = svdimg.components(IMG, count=4)
    gray = IMG / 255 @ [0.2126, 0.7152, 0.0722]
    s = svdimg.svdvals(gray)
    np.testing.assert_allclose(c.sigma, s[:4], rtol=1e-4)
    assert len(c) == 4 and c._repr_html_().count("<img") == 4 and "σ = " in c._repr_html_()
    with pytest.raises(ValueError, match="plane=3: the gray model has 1 planes"):
        svdimg.components(IMG, plane=3)
    spectrum = svdimg.spectrum(IMG)
    assert spectrum.names == ["r", "g", "b"]
    np.testing.assert_allclose(spectrum.values[0], svdimg.svdvals(IMG[..., 0] / 255), rtol=1e-4, atol=1e-5)
    svg = spectrum._repr_svg_()
    assert svg.startswith("<svg") and svg.count("<polyline") == 3
    # Every point of every curve lies inside the plot.
    for points in re.findall(r'points="([^"]+)"', svg):
        xy = np.array([p.split(",") for p in points.split()], float)
        assert (xy[:, 0] >= 56).all() and (xy[:, 0] <= 548).all() and (xy[:, 1] >= 28).all() and (xy[:, 1] <= 264).all()


def test_the_widget_without_its_extra_says_what_to_install(monkeypatch):
    import importlib
    import sys

    monkeypatch.setitem(sys.modules, "anywidget", None)
    monkeypatch.delitem(sys.modules, "svdimg.widget", raising=False)
    with pytest.raises(ImportError, match=r'svdimg.widget needs anywidget: pip install "svdimg\[notebook\]"'):
        importlib.import_module("svdimg.widget")
    # svdimg itself never needed it.
    assert svdimg.approximate(IMG, 3).shape == IMG.shape
