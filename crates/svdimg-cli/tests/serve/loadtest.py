"""A load test of `svdimg serve` on loopback: concurrent clients mixing renders at random
k, spectrum requests and small uploads with a share of hostile requests (wrong Host,
oversized, truncated, garbage, malformed). Bounded in clients, requests and time.

Used by test_load.py (short form) and scripts/serve_bench.py (long form)."""

import http.client
import io
import random
import socket
import threading
import time

from PIL import Image


def small_png(seed):
    """A 48×40 RGB PNG of smooth colours."""
    rng = random.Random(seed)
    a, b, c = (rng.randint(1, 7) for _ in range(3))
    img = Image.new("RGB", (48, 40))
    img.putdata([((x * a) % 256, (y * b) % 256, ((x + y) * c) % 256) for y in range(40) for x in range(48)])
    out = io.BytesIO()
    img.save(out, "PNG")
    return out.getvalue()


class Client:
    """One keep-alive connection; reconnects after the server closes one."""

    def __init__(self, port):
        self.port = port
        self.conn = None

    def request(self, method, path, body=None, host=None):
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            try:
                headers = {"Host": host} if host else {}
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                if response.getheader("connection", "").lower() == "close":
                    self.conn.close()
                    self.conn = None
                return response.status, data
            except (ConnectionError, http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise RuntimeError("unreachable")


def raw_exchange(port, payload, read=True):
    """Sends raw bytes on a fresh connection and returns the status code it answers."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as s:
        try:
            s.sendall(payload)
        except OSError:
            pass
        if not read:
            return None
        data = b""
        try:
            while b"\r\n" not in data:
                chunk = s.recv(4096)
                if not chunk:
                    break
                data += chunk
        except OSError:
            pass
        parts = data.split(b" ", 2)
        return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def hostile_requests(port, host, ids, max_upload, truncated):
    """Each hostile request with the status it must get."""
    return [
        ("wrong host", lambda c: c.request("GET", f"/api/images/{ids[0]}/spectrum", host="evil.example")[0], 403),
        ("oversized upload", lambda c: raw_exchange(
            port,
            f"POST /api/images HTTP/1.1\r\nHost: {host}\r\nContent-Length: {max_upload + 1}\r\n\r\n".encode()
            + b"\0" * 65536,
        ), 413),
        ("truncated image", lambda c: c.request("POST", "/api/images", body=truncated)[0], 422),
        ("garbage upload", lambda c: c.request("POST", "/api/images", body=random.randbytes(2000))[0], 422),
        ("unknown id", lambda c: c.request("GET", "/api/images/nope/render?k=3")[0], 404),
        ("bad k", lambda c: c.request("GET", f"/api/images/{ids[0]}/render?k=abc")[0], 400),
        ("malformed request", lambda c: raw_exchange(port, b"GARBAGE \x00\x01 NOT-HTTP\r\n\r\n"), 400),
        ("bad percent-encoding", lambda c: c.request("GET", f"/api/images/{ids[0]}/render?k=%ZZ")[0], 400),
    ]


def percentile(values, p):
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def run(port, host, ids, *, clients=32, seconds=10.0, max_requests=None, max_upload, hostile_share=0.15, seed=1):
    """Runs the load and returns the measurements."""
    truncated = small_png(0)[:60]
    uploads = [small_png(i) for i in range(1, 9)]
    hostile = hostile_requests(port, host, ids, max_upload, truncated)
    lock = threading.Lock()
    latencies = []
    counts = {"render": 0, "spectrum": 0, "upload": 0, "hostile": 0}
    wrong = []
    server_errors = []
    status_samples = []
    deadline = time.monotonic() + seconds
    budget = [max_requests] if max_requests else None
    stop = threading.Event()

    def take():
        with lock:
            if budget is None:
                return time.monotonic() < deadline
            if budget[0] <= 0 or time.monotonic() >= deadline:
                return False
            budget[0] -= 1
            return True

    def client(index):
        rng = random.Random(seed * 1000 + index)
        c = Client(port)
        while take():
            roll = rng.random()
            started = time.perf_counter()
            if roll < hostile_share:
                name, call, expected = rng.choice(hostile)
                status = call(c)
                with lock:
                    counts["hostile"] += 1
                    if status != expected:
                        wrong.append((name, status, expected))
                    if status is not None and status >= 500:
                        server_errors.append((name, status))
                continue
            image = rng.choice(ids)
            if roll < hostile_share + 0.6:
                kind, path = "render", f"/api/images/{image}/render?k={rng.randint(1, 256)}" + (
                    "&format=rgba" if rng.random() < 0.7 else "")
                status, _ = c.request("GET", path)
                expected = 200
            elif roll < hostile_share + 0.75:
                kind, path = "spectrum", f"/api/images/{image}/spectrum"
                status, _ = c.request("GET", path)
                expected = 200
            else:
                kind, path = "upload", "/api/images"
                status, _ = c.request("POST", path, body=rng.choice(uploads))
                expected = 201
            elapsed = time.perf_counter() - started
            with lock:
                counts[kind] += 1
                latencies.append(elapsed)
                if status != expected:
                    wrong.append((kind, status, expected))
                if status >= 500:
                    server_errors.append((kind, status))

    def monitor():
        c = Client(port)
        while not stop.is_set():
            status, body = c.request("GET", "/api/status")
            if status == 200:
                import json

                status_samples.append(json.loads(body))
            stop.wait(0.25)

    watcher = threading.Thread(target=monitor, daemon=True)
    watcher.start()
    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.monotonic() - started
    stop.set()
    watcher.join()
    final = Client(port).request("GET", "/api/status")
    import json

    last = json.loads(final[1])
    total = sum(counts.values())
    rss = [s["rss_bytes"] for s in status_samples + [last] if s.get("rss_bytes")]
    return {
        "clients": clients,
        "seconds": round(wall, 2),
        "requests": total,
        "requests_per_second": round(total / wall, 1),
        "counts": counts,
        "p50_ms": round(1000 * percentile(latencies, 50), 1) if latencies else None,
        "p99_ms": round(1000 * percentile(latencies, 99), 1) if latencies else None,
        "server_errors": len(server_errors),
        "wrong_statuses": wrong[:20],
        "wrong_count": len(wrong),
        "panics": last["panics"],
        "rss_max_bytes": max(rss) if rss else None,
        "held_bytes_max": max(s["usage"]["bytes"] for s in status_samples + [last]),
        "budget_bytes": last["usage"]["budget"],
        "evicted": last["usage"]["evicted"],
    }
