"""`python -m bench`: start servers, run every scenario, print one table of
figures beside the limits measured in the same run, and write it as JSON."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

from .harness import Row, servers

SCENARIOS = ["append", "http"]


def run(names: list[str], seconds: float, workdir: Path) -> list[Row]:
    from . import write_side

    rows: list[Row] = []
    with servers(workdir) as srv:
        if "append" in names:
            rows += write_side.append_rate(srv, seconds)
        if "http" in names:
            rows += write_side.http_rates(srv, workdir, seconds)
    return rows


def table(rows: list[Row]) -> str:
    head = f"{'scenario':<74} {'figure':>14} {'limit':>12} {'ratio':>7} {'target':>9}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        limit = f"{r.limit:,.1f}" if r.limit is not None else "-"
        ok = {True: "yes", False: "NO", None: "-"}[r.meets()]
        lines.append(
            f"{r.scenario[:74]:<74} {r.value:>11,.1f}{r.unit:<3} {limit:>12} {ratio:>7} "
            f"{r.target:>9}  {ok}"
        )
        if r.limit_name:
            lines.append(f"{'':<6}limit: {r.limit_name}")
        for k, v in r.extra.items():
            lines.append(f"{'':<6}{k}: {v:,.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", default=SCENARIOS, choices=[*SCENARIOS, []])
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--json", default="bench/results/latest.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orders-bench-") as tmp:
        started = time.time()
        rows = run(args.scenarios or SCENARIOS, args.seconds, Path(tmp))
    print(table(rows))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": {
                    "platform": platform.platform(),
                    "python": sys.version.split()[0],
                    "cpus": os.cpu_count(),
                },
                "started": started,
                "rows": [{**r.__dict__, "ratio": r.ratio, "meets_target": r.meets()} for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
