#!/usr/bin/env python3
"""Two builds of `bench_svd` side by side, stage by stage.

Run: python3 scripts/ab_stages.py OLD NEW MATRIX M N MODE RUNS

OLD and NEW are two `bench_svd` binaries (build the old one from another checkout with
CARGO_TARGET_DIR set, `cargo build --release -p svdimg --example bench_svd`). MATRIX is a raw
little-endian f64 file of M×N entries, row-major: `scripts/compare.py --values` leaves
coffee.png's at each size in its temporary folder (`/tmp/svdimg-values-*/MxN.f64`). MODE one of bench_svd's modes (`twostage-f64`, `values-f64`, ...). The two binaries run in
turn, RUNS times each, the order swapped every run, so that the machine's drift falls on
both; the minimum and the median of each stage's seconds are printed.
"""

import json
import statistics
import subprocess
import sys


def main() -> None:
    if len(sys.argv) != 8:
        sys.exit(__doc__.strip().splitlines()[2])
    old, new, matrix, m, n, mode, runs = sys.argv[1:]
    binaries = [("old", old), ("new", new)]
    seen: dict[str, list[dict]] = {"old": [], "new": []}
    for run in range(int(runs)):
        for name, binary in binaries if run % 2 == 0 else binaries[::-1]:
            out = subprocess.run(
                [binary, matrix, m, n, mode, "10"], capture_output=True, text=True, check=True
            ).stdout
            seen[name].append(json.loads(out.strip().splitlines()[-1]))
    first = seen["old"][0]
    stages = [k for k, v in first.items() if isinstance(v, float) and k not in ("error", "s_top", "s_min")]
    for stage in stages:
        o = [r[stage] for r in seen["old"]]
        w = [r[stage] for r in seen["new"]]
        print(
            f"{stage:12s} old min {min(o):.3f} median {statistics.median(o):.3f}"
            f" | new min {min(w):.3f} median {statistics.median(w):.3f}"
        )


if __name__ == "__main__":
    main()
