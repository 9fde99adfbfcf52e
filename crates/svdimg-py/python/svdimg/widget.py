"""The svdimg explorer as a notebook widget (``pip install "svdimg[notebook]"``).

``Explorer(image)`` shows, in the cell's output, the page of ``svdimg serve``: the rank
slider, the colour modes, PSNR, SSIM, energy and storage, the spectrum (click it to set k)
and the rank-one components. The picture is factored once, in native code in the kernel;
the view asks the kernel for pixels, which come back as binary buffers.

The setting is shared both ways: moving the slider changes ``w.k`` (and ``w.ranks``), and
``w.k = 37`` in a cell moves the slider. ``w.psnr`` and ``w.ssim`` are the numbers of the
setting, and ``w.image`` the PNG bytes of the picture it shows (as ``svdimg approx -k K``
writes it).

>>> import svdimg
>>> from svdimg.widget import Explorer
>>> w = Explorer(svdimg.load_sample()[0], k=20)
>>> w.mode, w.ranks, round(w.psnr, 2)
('rgb', [20, 20, 20], 23.05)
>>> w.k = 50
>>> w.ranks, round(w.psnr, 2), w.image[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
([50, 50, 50], 29.46, True)
"""

from __future__ import annotations

import math
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional, Tuple
from urllib.parse import parse_qs

import numpy as np

try:
    import anywidget
    import traitlets
except ImportError as e:  # pragma: no cover - the message is the point
    raise ImportError(
        'svdimg.widget needs anywidget: pip install "svdimg[notebook]"'
    ) from e

from . import _bundle, _native
from .display import core_of as _core_of

MODES = ("rgb", "channels", "ycbcr", "gray")
# Most samples of a singular vector sent to the view (as svdimg serve sends).
_PROFILE_POINTS = 600
# Largest side of a component tile.
_TILE_SIDE = 480
_PLANES = {"gray": ["gray"], "rgb": ["r", "g", "b"], "ycbcr": ["y", "cb", "cr"]}


def _page_module() -> str:
    html, css, modules = _native.explorer_page()
    return _bundle.bundle(dict(modules), "widget.js", html, css)


def _stored(mode: str) -> str:
    return "rgb" if mode == "channels" else mode


class _Shown(traitlets.Bytes):
    """The PNG bytes of the picture on screen, encoded when first read after a change."""

    def get(self, obj, cls=None):
        if obj is not None and obj._shown_stale:
            obj._shown_stale = False
            obj.set_trait(self.name, obj._core.png(list(obj.ranks)))
        return super().get(obj, cls)


class _Measured(traitlets.Float):
    """A number of the setting on screen: measured in the background after each change, or
    at once when read before that is done."""

    def get(self, obj, cls=None):
        if obj is not None and getattr(obj, "_numbers_stale", False):
            obj._measure_now()
        return super().get(obj, cls)


def _finite(value: float, _widget: Any) -> Optional[float]:
    return value if math.isfinite(value) else None


class Explorer(anywidget.AnyWidget):
    """The explorer of ``svdimg serve`` in a notebook cell, for one picture.

    ``image`` is a path, a PIL image or a NumPy array (H×W, H×W×3 or H×W×4; uint8, uint16,
    or float on [0, 1]). ``k`` is the first rank; ``mode`` the colour model (``"rgb"``
    one k for R G B, ``"channels"`` a k per channel, ``"ycbcr"`` luma and chroma, ``"gray"``
    the Rec.709 gray plane); a gray picture has only ``"gray"``.
    """

    _esm = _page_module()

    k = traitlets.Int(10, help="The rank of the rgb and gray modes (setting it sets every plane's).").tag(sync=True)
    mode = traitlets.Unicode("rgb", help="rgb | channels | ycbcr | gray").tag(sync=True)
    ranks = traitlets.List(traitlets.Int(), help="The rank of each stored plane.").tag(sync=True)
    psnr = _Measured(help="PSNR in dB of the picture shown (inf when exact).").tag(
        sync=True, to_json=_finite
    )
    ssim = _Measured(help="Mean SSIM of the picture shown.").tag(sync=True)
    image = _Shown(help="The PNG bytes of the picture shown.")

    def __init__(self, image: Any, k: int = 10, mode: Optional[str] = None, **kwargs: Any):
        core, name = _core_of(image)
        if mode is None:
            mode = "rgb" if core.is_color else "gray"
        self._core = core
        self._name = name
        self._shown_stale = True
        self._numbers_stale = False
        self._settling = False
        # The numbers (PSNR, SSIM over every pixel) and the slow questions run on one worker
        # thread, so that the view's pixels never wait behind them.
        self._lock = threading.Lock()
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="svdimg-widget")
        self._quality: Dict[Tuple[str, Tuple[int, ...]], Tuple[float, float, List[float], List[int]]] = {}
        self._check_mode(mode)
        core.factor(_stored(mode))
        k = self._check_k(k)
        super().__init__(k=k, mode=mode, ranks=self._ranks_for(mode, k), **kwargs)
        self._measure_now()
        self.observe(self._settle, names=["k", "mode", "ranks"])
        self.on_msg(self._answer)

    # ---------- the setting ----------

    @property
    def factor_bytes(self) -> int:
        """Bytes the kernel holds for this widget's factors (one colour model at a time)."""
        return self._core.factor_bytes

    @property
    def picture_bytes(self) -> int:
        """Bytes the kernel holds for the picture's planes."""
        return self._core.picture_bytes

    def _check_mode(self, mode: Any) -> None:
        if mode not in MODES:
            raise traitlets.TraitError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
        if mode != "gray" and not self._core.is_color:
            raise traitlets.TraitError(f"mode={mode!r}: the picture is gray (use mode='gray')")

    def _check_k(self, k: Any) -> int:
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
            raise traitlets.TraitError(f"k must be an integer of 1 or more, got {k!r}")
        return min(int(k), min(self._core.width, self._core.height))

    def _ranks_for(self, mode: str, k: int) -> List[int]:
        return [k] if mode == "gray" else [k, k, k]

    def _consistent(self, mode: str, k: int, ranks: List[int]) -> bool:
        if mode in ("rgb", "gray"):
            return list(ranks) == self._ranks_for(mode, k)
        return len(ranks) == 3 and (mode != "ycbcr" or ranks[1] == ranks[2])

    @traitlets.validate("k")
    def _valid_k(self, proposal):
        return self._check_k(proposal["value"])

    @traitlets.validate("mode")
    def _valid_mode(self, proposal):
        self._check_mode(proposal["value"])
        return proposal["value"]

    @traitlets.validate("ranks")
    def _valid_ranks(self, proposal):
        ranks = list(proposal["value"])
        top = min(self._core.width, self._core.height)
        if any(isinstance(r, bool) or not isinstance(r, (int, np.integer)) or r < 0 for r in ranks):
            raise traitlets.TraitError(f"ranks must be integers of 0 or more, got {ranks!r}")
        if ranks and not any(ranks):
            raise traitlets.TraitError("at least one plane needs a rank of 1 or more")
        return [min(int(r), top) for r in ranks]

    def _settle(self, change: Dict[str, Any]) -> None:
        """After a change of k, mode or ranks: the others follow, then the numbers."""
        if self._settling:
            return
        self._settling = True
        try:
            with self.hold_sync():
                mode, k, ranks = self.mode, self.k, list(self.ranks)
                if change["name"] == "k" and mode in ("channels", "ycbcr"):
                    # Setting k sets every plane's rank, as the page's rank buttons do.
                    ranks = [k, k, k]
                    self.ranks = ranks
                elif not self._consistent(mode, k, ranks):
                    if mode in ("rgb", "gray"):
                        ranks = self._ranks_for(mode, k)
                    elif change["name"] == "mode":
                        old = change["old"]
                        main = k if old in ("rgb", "gray") else max(self.ranks or [k])
                        ranks = [main, main, main] if mode == "channels" else [main, 5, 5]
                    else:
                        raise traitlets.TraitError(
                            f"ranks={ranks!r} do not fit mode={mode!r}: "
                            + ("give 3 ranks" if mode == "channels" else "give [ky, kc, kc]")
                        )
                    self.ranks = ranks
                self._core.factor(_stored(mode))
                self._measure()
        finally:
            self._settling = False

    def close(self) -> None:
        worker = getattr(self, "_worker", None)  # absent when the constructor raised
        if worker is not None:
            worker.shutdown(wait=False)
        super().close()

    def _key(self) -> Tuple[str, Tuple[int, ...]]:
        return (self.mode, tuple(self.ranks))

    def _measure(self) -> None:
        """The setting changed: its numbers are measured in the background (or when read)."""
        with self._lock:
            self._numbers_stale = True
            self._shown_stale = True
        key = self._key()
        self._worker.submit(self._measure_in_background, key)

    def _measure_in_background(self, key) -> None:
        try:
            if key != self._key():
                return
            numbers = self._quality_of(key[0], list(key[1]))
        except ValueError:
            return  # superseded: another colour model's factors are held now
        self._publish(key, numbers)

    def _measure_now(self) -> None:
        key = self._key()
        self._publish(key, self._quality_of(key[0], list(key[1])))

    def _publish(self, key, numbers) -> None:
        """Sets psnr and ssim to the numbers of `key`, if it is still the setting."""
        with self._lock:
            if key != self._key():
                return
            self._numbers_stale = False
            self.set_trait("psnr", numbers[0])
            self.set_trait("ssim", numbers[1])

    def _quality_of(self, mode: str, ranks: List[int]):
        key = (_stored(mode), tuple(ranks))
        with self._lock:
            hit = self._quality.get(key)
        if hit is None:
            hit = self._core.quality(list(ranks), key[0])
            with self._lock:
                if len(self._quality) > 64:
                    self._quality.clear()
                self._quality[key] = hit
        return hit

    # ---------- the view's questions (the routes of svdimg serve) ----------

    def _answer(self, _widget: Any, content: Dict[str, Any], _buffers: Any) -> None:
        if not isinstance(content, dict) or "op" not in content:
            return
        if content["op"] in ("stats", "rank"):
            # Seconds on a large picture: answered from the worker thread.
            self._worker.submit(self._reply, content)
        else:
            self._reply(content)

    def _reply(self, content: Dict[str, Any]) -> None:
        reply: Dict[str, Any] = {"id": content.get("id"), "view": content.get("view")}
        buffers: List[bytes] = []
        try:
            answer, buffers = getattr(self, f"_op_{content['op']}")(content.get("args") or {})
            reply["answer"] = answer
        except (ValueError, KeyError, TypeError, traitlets.TraitError, AttributeError) as e:
            reply["error"] = str(e) if not isinstance(e, AttributeError) else f"unknown question {content['op']!r}"
            reply["status"] = 400
        self.send(reply, buffers)

    def _describe(self) -> Dict[str, Any]:
        core = self._core
        modes = ["rgb", "ycbcr", "gray"] if core.is_color else ["gray"]
        return {
            "id": "notebook",
            "name": self._name,
            "width": core.width,
            "height": core.height,
            "color": "rgb" if core.is_color else "gray",
            "planes": _PLANES["rgb" if core.is_color else "gray"],
            "modes": modes,
            "input_bytes": core.input_bytes,
            "source": "notebook",
            "factors": {m: ("exact" if m == core.color else "none") for m in modes},
        }

    def _setting(self, query: str) -> Tuple[str, List[int]]:
        q = {key: values[-1] for key, values in parse_qs(query).items()}
        color = q.get("mode", "rgb")
        if color not in _PLANES:
            raise ValueError(f"mode={color}: use gray, rgb or ycbcr")
        keys = {"gray": ["k"], "rgb": ["kr", "kg", "kb"], "ycbcr": ["ky", "kc", "kc"]}[color]
        ranks = [int(q.get(key, q.get("k", -1))) for key in keys]
        if any(r < 0 for r in ranks):
            raise ValueError(f"missing k in {query!r}")
        return color, ranks

    def _op_list(self, _args):
        return {"images": [self._describe()]}, []

    def _op_describe(self, _args):
        return self._describe(), []

    def _op_render(self, args):
        color, ranks = self._setting(args["query"])
        self._core.factor(color)
        pixels, width, height, used = self._core.render_rgba(ranks, int(args.get("scale", 1)))
        answer = {
            "width": width,
            "height": height,
            "ranks": ",".join(map(str, used)),
            "exact": True,
            "maxRank": self._core.max_rank,
        }
        return answer, [pixels]

    def _op_original(self, args):
        pixels, width, height = self._core.original_rgba(bool(args.get("gray")), int(args.get("scale", 1)))
        return {"width": width, "height": height}, [pixels]

    def _op_spectrum(self, args):
        color = args.get("mode", "rgb")
        self._core.factor(_stored(color))
        planes = [
            {"name": name, "singular_values": [float(s) for s in values]}
            for name, values in zip(_PLANES[color], self._core.singular_values())
        ]
        return {"mode": color, "planes": planes}, []

    def _op_stats(self, args):
        color, ranks = self._setting(args["query"])
        psnr, ssim, energy, used = self._quality_of(color, ranks)
        m, n = self._core.height, self._core.width
        stored = sum(k * (m + n + 1) for k in used)
        pixels = m * n * len(used)
        planes = [
            {"name": name, "rank": k, "energy": e}
            for name, k, e in zip(_PLANES[color], used, energy)
        ]
        return {
            "mode": color,
            "exact": True,
            "psnr_db": psnr if math.isfinite(psnr) else None,
            "ssim": ssim,
            "planes": planes,
            "stored_values": stored,
            "pixel_values": pixels,
            "ratio": stored / pixels,
        }, []

    def _op_rank(self, args):
        color = args.get("mode", "rgb")
        db = float(args["psnr"])
        if not (math.isfinite(db) and db > 0):
            raise ValueError(f"psnr={db}: use a positive number of dB")
        self._core.factor(_stored(color))
        k, best = self._core.rank_for_psnr(db)
        if k is None:
            return {"psnr_db": db, "k": None, "best_psnr_db": best if math.isfinite(best) else None}, []
        return {"psnr_db": db, "k": k}, []

    def _op_vectors(self, args):
        color = args.get("mode", "rgb")
        self._core.factor(_stored(color))
        plane, i = int(args.get("plane", 0)), int(args["i"])
        sigma, u, v = self._core.vectors(plane, i)
        profile = lambda x: x[:: max(1, -(-len(x) // _PROFILE_POINTS))]  # noqa: E731
        return {"plane": _PLANES[_stored(color)][plane], "i": i, "sigma": sigma, "u": profile(u), "v": profile(v)}, []

    def _op_component(self, args):
        color = args.get("mode", "rgb")
        self._core.factor(_stored(color))
        part, _, index = str(args["part"]).partition("=")
        png, _peak = self._core.tile(int(args.get("plane", 0)), part, int(index), _TILE_SIDE)
        return {}, [png]
