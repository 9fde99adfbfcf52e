"""The load test's short form: 32 concurrent clients for a few seconds. Every well-formed
request succeeds, every hostile one gets its 4xx, nothing panics, memory stays bounded."""

import urllib.request

import loadtest
from conftest import shared_image

BUDGET = 256 << 20
MAX_UPLOAD = 1 << 20
# Beyond the cache: the binary, the runtime, 2 renders and 32 connections' buffers.
OVERHEAD = 200 << 20


def test_load_short(serve):
    photo = shared_image("astronaut.png")
    server = serve(photo, "--memory", str(BUDGET), "--max-upload", str(MAX_UPLOAD))
    # Wait for the exact factors of both images so the load measures serving, not factoring.
    for image in ("f1",):
        urllib.request.urlopen(f"{server.url}api/images/{image}/render?k=1").read()
    result = loadtest.run(
        server.port, server.host, ["f1"], clients=32, seconds=6.0, max_requests=1500, max_upload=MAX_UPLOAD
    )
    print(result)
    assert result["requests"] >= 100, result
    assert result["server_errors"] == 0, result
    assert result["wrong_count"] == 0, result
    assert result["panics"] == 0, result
    assert result["counts"]["hostile"] > 0 and result["counts"]["upload"] > 0, result
    assert result["held_bytes_max"] <= BUDGET, result
    assert result["rss_max_bytes"] <= BUDGET + OVERHEAD, result
