"""Many images: ``compress_files`` on any ``concurrent.futures`` executor.

The same work as ``svdimg batch`` on the command line, with the same journal: a file of
JSON lines, one per finished file, so that either one resumes the other's job. Each output
is written to a temporary file beside it and renamed into place, and only then recorded,
so a killed run leaves no partial output and a rerun skips what is done (same size,
modification time and settings).

Tasks carry batches of files worth about a second of work each (estimated from the image
headers), not one task per tiny file, and only a few tasks per worker are in flight at a
time. By default they run on a thread pool (the native calls release the GIL); pass a
``distributed.Client`` (or its ``get_executor()``) to run them on a Dask cluster, whose
workers must see the same paths.
"""
from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from concurrent.futures import FIRST_COMPLETED, Executor, ThreadPoolExecutor, wait
from typing import Any, Dict, Iterable, List, Optional, Tuple

from . import _native

#: The journal's name inside the output folder when none is given (as ``svdimg batch``).
DEFAULT_JOURNAL = ".svdimg-journal.jsonl"
#: How temporary outputs begin; leftovers of a killed run are removed by the next one.
TEMP_PREFIX = ".svdimg-batch-"
#: File extensions a folder is searched for (as ``svdimg batch``).
IMAGE_EXTENSIONS = {"png", "jpg", "jpeg", "gif", "bmp", "tif", "tiff", "webp", "pnm", "ppm", "pgm", "pbm"}
#: Pixels a task aims to carry: about a second of work on one core at 35 dB (measured:
#: a 451x300 photo takes 85 ms, about 1.6 megapixels a second).
PIXELS_PER_TASK = 1_500_000
#: The default --max-pixels of the command line (``svdimg.Limits``).
MAX_PIXELS = 100_000_000


def _plan(paths: Iterable[Any], out_dir: str, extension: str) -> List[Tuple[str, str]]:
    """(input, output) absolute paths, as ``svdimg batch`` maps them: a folder's images
    mirror their path below it, a file lands in ``out_dir`` under its own name."""
    out_dir = os.path.realpath(out_dir)
    found: List[Tuple[str, str]] = []
    for p in paths:
        p = os.fspath(p)
        if os.path.isdir(p):
            root = os.path.realpath(p)
            files = []
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if not d.startswith(".")
                               and os.path.join(dirpath, d) != out_dir]
                for name in filenames:
                    ext = name.rsplit(".", 1)[-1].lower() if "." in name else ""
                    if not name.startswith(".") and ext in IMAGE_EXTENSIONS:
                        files.append(os.path.join(dirpath, name))
            for f in sorted(files):
                found.append((f, os.path.relpath(f, root)))
        elif os.path.isfile(p):
            found.append((os.path.realpath(p), os.path.basename(p)))
        else:
            raise FileNotFoundError(f"'{p}': no such file or directory")
    seen: Dict[str, str] = {}
    jobs = []
    for src, rel in found:
        out = os.path.join(out_dir, os.path.splitext(rel)[0] + "." + extension)
        if out == src:
            raise ValueError(f"'{src}' would be written over itself: choose another out_dir")
        if out in seen:
            if seen[out] == src:
                continue
            raise ValueError(f"'{seen[out]}' and '{src}' would both write '{out}': give their folder instead")
        seen[out] = src
        jobs.append((src, out))
    return jobs


def _read_journal(path: str) -> Dict[str, Dict[str, Any]]:
    """The last entry per input; lines that do not parse (cut by a kill) are ignored."""
    entries: Dict[str, Dict[str, Any]] = {}
    try:
        with open(path, encoding="utf-8") as f:
            for line in f:
                try:
                    e = json.loads(line)
                except ValueError:
                    continue
                if isinstance(e, dict) and "input" in e:
                    entries[e["input"]] = e
    except FileNotFoundError:
        pass
    return entries


def _write_atomic(path: str, data: bytes) -> None:
    """Writes ``data`` through a temporary file beside ``path`` and a rename."""
    folder = os.path.dirname(path)
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=TEMP_PREFIX, suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _compress_batch(jobs: List[Tuple[str, str, int, int]], settings: Dict[str, Any], digest: str) -> List[Dict[str, Any]]:
    """One task: transcodes each (input, output, size, mtime_ns) and returns journal
    entries. Runs on a worker; module-level so that it pickles."""
    entries = []
    for src, out, size, mtime_ns in jobs:
        start = time.perf_counter()
        entry: Dict[str, Any] = {
            "input": src, "output": out, "size": size, "mtime_ns": mtime_ns, "settings": digest,
            "status": "failed", "bytes_out": 0, "psnr_db": None,
        }
        try:
            with open(src, "rb") as f:
                data = f.read()
            blob, _, _, psnr = _native.transcode(data, settings)
            _write_atomic(out, blob)
            entry.update(status="done", bytes_out=len(blob), psnr_db=psnr)
        except OSError as e:
            entry["error"] = (e.strerror or str(e)).lower()
        except Exception as e:  # a bad image: recorded, the batch goes on
            entry["error"] = str(e)
        entry["seconds"] = time.perf_counter() - start
        entries.append(entry)
    return entries


def _pixels(path: str) -> int:
    """Pixels of an image from its header (a file that cannot be read counts as small)."""
    try:
        with open(path, "rb") as f:
            return int(_native.working_set(f.read())) // 72
    except Exception:
        return 1


def _group(jobs: List[Tuple[str, str, int, int]]) -> List[List[Tuple[str, str, int, int]]]:
    """Consecutive jobs in groups of about ``PIXELS_PER_TASK`` pixels."""
    groups: List[List[Tuple[str, str, int, int]]] = []
    current: List[Tuple[str, str, int, int]] = []
    pixels = 0
    for job in jobs:
        current.append(job)
        pixels += _pixels(job[0])
        if pixels >= PIXELS_PER_TASK:
            groups.append(current)
            current, pixels = [], 0
    if current:
        groups.append(current)
    return groups


def compress_files(
    paths: Iterable[Any],
    out_dir: Any,
    *,
    psnr: Optional[float] = None,
    rank: Optional[int] = None,
    energy: Optional[float] = None,
    max_bytes: Optional[int] = None,
    to: str = "svdz",
    color: str = "auto",
    method: str = "auto",
    seed: int = 0,
    max_pixels: int = MAX_PIXELS,
    allow_truncated: bool = False,
    executor: Any = None,
    journal: Any = None,
    progress: bool = True,
) -> Dict[str, Any]:
    """Compresses image files (or the images in folders, recursively) into ``out_dir``.

    Settings are those of ``svdimg batch``: one target of ``psnr`` (default 35 dB),
    ``rank``, ``energy`` or ``max_bytes``; ``to`` is ``svdz``, ``png`` or ``jpg`` (the image
    the ``.svdz`` decodes to). ``executor`` is any ``concurrent.futures.Executor`` (default:
    a thread pool with one thread per core) or a ``distributed.Client``. ``journal``
    defaults to ``out_dir/.svdimg-journal.jsonl``, the command line's.

    Returns the command line's ``--json`` summary: ``{"done", "skipped", "failed",
    "bytes_in", "bytes_out", "psnr_median", "psnr_worst", "seconds"}``; failed files are in
    the journal with their error.

    >>> import tempfile, svdimg, svdimg.batch
    >>> d = tempfile.mkdtemp()
    >>> with open(f"{d}/a.png", "wb") as f:
    ...     _ = f.write(svdimg._native.sample_png())
    >>> s = svdimg.batch.compress_files([f"{d}/a.png"], f"{d}/out", progress=False)
    >>> (s["done"], s["skipped"], s["failed"]), s["psnr_worst"] >= 35
    ((1, 0, 0), True)
    >>> svdimg.batch.compress_files([f"{d}/a.png"], f"{d}/out", progress=False)["skipped"]
    1
    """
    start = time.perf_counter()
    targets = [(n, v) for n, v in (("rank", rank), ("energy", energy), ("psnr", psnr), ("max_bytes", max_bytes)) if v is not None]
    if len(targets) > 1:
        raise ValueError("give at most one of psnr, rank, energy and max_bytes")
    target, value = targets[0] if targets else ("psnr", 35.0)
    settings = dict(to=to, target=target, value=float(value), color=color, method=method,
                    seed=int(seed), max_pixels=int(max_pixels), allow_truncated=bool(allow_truncated))
    digest = _native.settings_hash(_native.settings_line(settings))
    os.makedirs(out_dir, exist_ok=True)
    jobs = _plan(paths, out_dir, "jpg" if to == "jpg" else to)
    journal_path = os.fspath(journal) if journal is not None else os.path.join(os.path.realpath(out_dir), DEFAULT_JOURNAL)
    before = _read_journal(journal_path)
    for folder in {os.path.dirname(out) for _, out in jobs}:
        if os.path.isdir(folder):
            for name in os.listdir(folder):
                if name.startswith(TEMP_PREFIX):
                    try:
                        os.unlink(os.path.join(folder, name))
                    except OSError:
                        pass

    todo, skipped = [], 0
    for src, out in jobs:
        st = os.stat(src)
        e = before.get(src)
        if (e and e.get("status") == "done" and e.get("size") == st.st_size and e.get("mtime_ns") == st.st_mtime_ns
                and e.get("settings") == digest and e.get("output") == out and os.path.isfile(out)):
            skipped += 1
        else:
            todo.append((src, out, st.st_size, st.st_mtime_ns))

    own = None
    if executor is None:
        executor = own = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    elif not isinstance(executor, Executor) and hasattr(executor, "get_executor"):
        executor = executor.get_executor()  # a distributed.Client
    workers = getattr(executor, "_max_workers", None) or os.cpu_count() or 1
    groups = _group(todo)
    limit = 2 * workers  # tasks in flight
    entries: List[Dict[str, Any]] = []
    show = progress and sys.stderr.isatty()
    bytes_done = 0
    try:
        with open(journal_path, "a+b") as jf:
            jf.seek(0, os.SEEK_END)
            if jf.tell() > 0:
                jf.seek(-1, os.SEEK_END)
                if jf.read(1) != b"\n":
                    jf.write(b"\n")
            pending = set()
            queue = list(groups)
            while queue or pending:
                while queue and len(pending) < limit:
                    pending.add(executor.submit(_compress_batch, queue.pop(0), settings, digest))
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for fut in finished:
                    for e in fut.result():
                        jf.write((json.dumps(e) + "\n").encode())
                        entries.append(e)
                        bytes_done += e["size"]
                    jf.flush()
                    os.fsync(jf.fileno())
                if show:
                    rate = bytes_done / 1e6 / max(time.perf_counter() - start, 1e-9)
                    print(f"\r{len(entries)}/{len(todo)} files, {rate:.1f} MB/s", end="", file=sys.stderr, flush=True)
            if show:
                print(file=sys.stderr)
    finally:
        if own is not None:
            own.shutdown()

    done = [e for e in entries if e["status"] == "done"]
    psnrs = sorted(float("inf") if e["psnr_db"] is None else e["psnr_db"] for e in done)

    def finite(x):
        return x if x is not None and x != float("inf") else None

    return {
        "done": len(done),
        "skipped": skipped,
        "failed": len(entries) - len(done),
        "bytes_in": sum(e["size"] for e in done),
        "bytes_out": sum(e["bytes_out"] for e in done),
        "psnr_median": finite(psnrs[len(psnrs) // 2]) if psnrs else None,
        "psnr_worst": finite(psnrs[0]) if psnrs else None,
        "seconds": time.perf_counter() - start,
    }
