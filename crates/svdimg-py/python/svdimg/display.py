"""Pictures that show themselves in a notebook, as PIL and matplotlib objects do.

- ``Picture``: the arrays ``approximate``, ``load``, ``load_sample`` and ``decompress``
  return. A NumPy array in every way (arithmetic on it gives plain arrays), with a
  ``_repr_png_`` so that a cell ending in one shows the picture.
- ``gallery(image, ranks)``: the approximations at several ranks, with their PSNR.
- ``components(image, count)``: the rank-one components σᵢ uᵢ vᵢᵀ, blue negative, red
  positive.
- ``spectrum(image)``: the singular values on a log scale (SVG).

Each factors the picture once, in native code, as the explorer does.

>>> import svdimg
>>> img, _ = svdimg.load_sample()
>>> type(img).__name__, img._repr_png_()[:4]
('Picture', b'\\x89PNG')
>>> type(img / 255).__name__
'ndarray'
>>> g = svdimg.gallery(img, ranks=[5, 50])
>>> [round(p, 2) for p in g.psnr]
[16.43, 29.46]
"""

from __future__ import annotations

import html
import math
import os
from typing import Any, List, Optional, Sequence, Tuple

import numpy as np

from . import _native

_PLANES = {"gray": ["gray"], "rgb": ["r", "g", "b"], "ycbcr": ["y", "cb", "cr"]}
# Plane colours of the spectrum, as the explorer draws them.
_COLORS = {"gray": "#444", "r": "#c0392b", "g": "#27893f", "b": "#2467b3", "y": "#444", "cb": "#2467b3", "cr": "#c0392b"}


def _png(arr: np.ndarray) -> Optional[bytes]:
    """PNG bytes of an image array, or None when it is not one."""
    if arr.ndim not in (2, 3) or arr.size == 0 or (arr.ndim == 3 and arr.shape[2] not in (1, 2, 3, 4)):
        return None
    a = arr[..., None] if arr.ndim == 2 else arr
    if a.dtype.kind == "f":
        if not np.isfinite(a).all():
            return None
        a = np.rint(np.clip(a, 0.0, 1.0) * 255.0).astype(np.uint8)
    if a.dtype == np.uint8:
        return _native.png_u8(np.ascontiguousarray(a))
    if a.dtype == np.uint16:
        return _native.png_u16(np.ascontiguousarray(a))
    return None


class Picture(np.ndarray):
    """An image array that shows itself in a notebook; otherwise a NumPy array.

    Slices of it are pictures too; anything computed from it (``img / 255``, ``img - out``,
    ``img.mean()``) is a plain array or number.
    """

    def __array_wrap__(self, obj, context=None, return_scalar=False):
        out = np.asarray(obj)
        return out[()] if return_scalar else out

    def _repr_png_(self) -> Optional[bytes]:
        return _png(np.asarray(self))


def picture(arr: np.ndarray) -> Picture:
    """``arr`` as a ``Picture`` (no copy)."""
    return np.asarray(arr).view(Picture)


def core_of(image: Any) -> Tuple[Any, str]:
    """The native picture of a path, a PIL image or an array, and its name."""
    from . import _image

    if isinstance(image, (str, os.PathLike)):
        path = os.fspath(image)
        with open(path, "rb") as f:
            return _native.ExplorerCore.from_file_bytes(f.read()), os.path.basename(path)
    if hasattr(image, "mode") and hasattr(image, "size") and not isinstance(image, np.ndarray):
        # A PIL image: its pixels (16-bit modes keep their depth).
        image = np.asarray(image.convert("RGBA") if image.mode in ("P", "PA") else image)
    arr, _ = _image(np.asarray(image))
    if arr.ndim == 2:
        arr = arr[..., None]
    if arr.dtype.kind == "f":
        # Floats on [0, 1] become 16-bit samples (the closest to their precision a picture
        # file keeps); values outside [0, 1] are clipped, as a written picture would be.
        arr = np.rint(np.clip(arr, 0.0, 1.0) * 65535.0).astype(np.uint16)
    arr = np.ascontiguousarray(arr)
    if arr.dtype == np.uint8:
        return _native.ExplorerCore.from_u8(arr), "array"
    return _native.ExplorerCore.from_u16(arr), "array"


def _mode_of(core: Any, mode: Optional[str]) -> str:
    mode = mode or ("rgb" if core.is_color else "gray")
    if mode not in _PLANES:
        raise ValueError(f"mode must be gray, rgb or ycbcr, got {mode!r}")
    if mode != "gray" and not core.is_color:
        raise ValueError(f"mode={mode!r}: the picture is gray (use mode='gray')")
    return mode


class Gallery:
    """Pictures with captions, shown as a grid in a notebook (``_repr_html_``)."""

    def __init__(self, pngs: Sequence[bytes], captions: Sequence[str], title: str):
        self.pngs = list(pngs)
        self.captions = list(captions)
        self.title = title

    def __len__(self) -> int:
        return len(self.pngs)

    def _repr_html_(self) -> str:
        import base64

        cells = "".join(
            '<figure style="margin:0">'
            f'<img src="data:image/png;base64,{base64.b64encode(png).decode()}" '
            f'alt="{html.escape(c)}" style="width:100%;image-rendering:auto">'
            f'<figcaption style="font:12px sans-serif;text-align:center">{html.escape(c)}</figcaption></figure>'
            for png, c in zip(self.pngs, self.captions)
        )
        return (
            f'<div><div style="font:bold 13px sans-serif;margin:4px 0">{html.escape(self.title)}</div>'
            '<div style="display:grid;grid-template-columns:repeat(4,minmax(0,1fr));gap:8px;max-width:960px">'
            f"{cells}</div></div>"
        )

    def __repr__(self) -> str:
        return f"<{self.title}: {len(self)} pictures>"


class RankGallery(Gallery):
    """The approximations at several ranks: ``pictures`` (arrays), ``ranks``, ``psnr``."""

    def __init__(self, pictures: List[Picture], ranks: List[int], psnr: List[float], title: str):
        self.pictures = pictures
        self.ranks = ranks
        self.psnr = psnr
        captions = [f"rank {k}, {'exact' if math.isinf(p) else f'{p:.2f} dB'}" for k, p in zip(ranks, psnr)]
        super().__init__([_png(np.asarray(p)) for p in pictures], captions, title)


def gallery(image: Any, ranks: Sequence[int] = (1, 2, 3, 4, 5, 10, 20, 50), mode: Optional[str] = None) -> RankGallery:
    """The picture rebuilt from its first k components for each k in ``ranks`` (clamped to
    the short side), with the PSNR of each: the lessons' rank gallery. ``mode`` is
    ``"rgb"`` (the default for colour), ``"ycbcr"`` or ``"gray"``."""
    core, name = core_of(image)
    mode = _mode_of(core, mode)
    ranks = [int(k) for k in ranks]
    if not ranks or any(k < 1 for k in ranks):
        raise ValueError(f"ranks must be integers of 1 or more, got {list(ranks)!r}")
    core.factor(mode)
    n = len(_PLANES[mode])
    pictures, used, psnrs = [], [], []
    for k in ranks:
        psnr, _, _, got = core.quality([k] * n, mode)
        pictures.append(picture(_native.decode(core.png([k] * n))[0]))
        used.append(got[0])
        psnrs.append(psnr)
    return RankGallery(pictures, used, psnrs, f"{name}: rank gallery ({mode})")


class Components(Gallery):
    """Rank-one components σᵢ uᵢ vᵢᵀ of one plane: ``sigma`` and the tiles."""

    def __init__(self, pngs: List[bytes], sigma: List[float], title: str):
        self.sigma = sigma
        captions = [f"i = {i}, σ = {s:.4g}" for i, s in enumerate(sigma, 1)]
        super().__init__(pngs, captions, title)


def components(image: Any, count: int = 8, plane: int = 0, mode: Optional[str] = "gray") -> Components:
    """The first ``count`` rank-one components σᵢ uᵢ vᵢᵀ of plane ``plane`` (of the gray
    plane by default), each on its own scale: blue negative, white zero, red positive."""
    core, name = core_of(image)
    mode = _mode_of(core, mode)
    core.factor(mode)
    if not (1 <= int(count)):
        raise ValueError(f"count must be 1 or more, got {count!r}")
    count = min(int(count), core.max_rank)
    sigma = core.singular_values()
    if not 0 <= plane < len(sigma):
        raise ValueError(f"plane={plane}: the {mode} model has {len(sigma)} planes")
    pngs = [core.tile(plane, "i", i, 480)[0] for i in range(1, count + 1)]
    label = _PLANES[mode][plane]
    return Components(pngs, [float(s) for s in sigma[plane][:count]], f"{name}: components of {label}")


class Spectrum:
    """The singular values of each plane (``values``, ``names``), drawn on a log scale."""

    def __init__(self, names: List[str], values: List[np.ndarray], title: str):
        self.names = names
        self.values = values
        self.title = title

    def __repr__(self) -> str:
        return f"<{self.title}: {', '.join(f'{n} ({len(v)} values)' for n, v in zip(self.names, self.values))}>"

    def _repr_svg_(self) -> str:
        w, h, left, top, bottom = 560, 300, 56, 28, 36
        right = w - 12
        floor = min(float(v[v > 0].min()) for v in self.values if (v > 0).any()) if any((v > 0).any() for v in self.values) else 1e-12
        ceil = max(float(v.max()) for v in self.values) or 1.0
        lo, hi = math.floor(math.log10(max(floor, ceil * 1e-12))), math.ceil(math.log10(ceil))
        hi = hi if hi > lo else lo + 1
        n = max(len(v) for v in self.values)
        x = lambda i: left + (right - left) * (i / max(n - 1, 1))  # noqa: E731
        y = lambda s: top + (h - bottom - top) * (hi - math.log10(max(s, 10.0**lo))) / (hi - lo)  # noqa: E731
        parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" font-family="sans-serif" font-size="11">',
                 f'<rect width="{w}" height="{h}" fill="white"/>',
                 f'<text x="{left}" y="16" font-weight="bold">{html.escape(self.title)}</text>']
        for e in range(lo, hi + 1):
            parts.append(f'<line x1="{left}" x2="{right}" y1="{y(10.0**e):.1f}" y2="{y(10.0**e):.1f}" stroke="#e3e3e3"/>')
            parts.append(f'<text x="{left - 6}" y="{y(10.0**e) + 4:.1f}" text-anchor="end">1e{e}</text>')
        parts.append(f'<text x="{(left + right) / 2}" y="{h - 6}" text-anchor="middle">i (component, 1 to {n})</text>')
        parts.append(f'<text x="14" y="{(top + h - bottom) / 2}" transform="rotate(-90 14 {(top + h - bottom) / 2})" text-anchor="middle">σᵢ</text>')
        for k, (name, v) in enumerate(zip(self.names, self.values)):
            points = " ".join(f"{x(i):.1f},{y(float(s)):.1f}" for i, s in enumerate(v))
            color = _COLORS.get(name, "#444")
            parts.append(f'<polyline fill="none" stroke="{color}" stroke-width="1.5" points="{points}"/>')
            parts.append(f'<text x="{right - 60}" y="{top + 14 * (k + 1)}" fill="{color}">{html.escape(name)}</text>')
        parts.append("</svg>")
        return "".join(parts)


def spectrum(image: Any, mode: Optional[str] = None) -> Spectrum:
    """The singular values σ₁ ≥ σ₂ ≥ … of each plane of ``image`` on the [0, 1] scale, as a
    figure (``_repr_svg_``) and as arrays (``values``)."""
    core, name = core_of(image)
    mode = _mode_of(core, mode)
    core.factor(mode)
    values = [np.asarray(v, dtype=np.float64) for v in core.singular_values()]
    return Spectrum(_PLANES[mode], values, f"{name}: singular values ({mode})")
