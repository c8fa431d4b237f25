"""`python -m bench`: start servers, run every scenario, print one table of
figures beside the limits measured in the same run, and write it as JSON."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .harness import Row, servers

#: In the order they run; `read` needs `projection`'s bulk-upsert limit (it
#: measures its own when run alone).
SCENARIOS = ["append", "http", "deployed", "projection", "read", "subscriptions"]


def run(
    names: list[str], seconds: float, quick: bool, workdir: Path, mongo_url: str = ""
) -> list[Row]:
    from . import deployed, read_side, write_side

    rows: list[Row] = []
    sample: dict[str, Any] | None = None
    with servers(workdir, mongo_url=mongo_url) as srv:
        if "append" in names:
            rows += write_side.append_rate(srv, max(2.0, seconds / 3))
        if "http" in names:
            rows += write_side.http_rates(srv, workdir, seconds)
        if "deployed" in names:
            rows += deployed.deployed(srv, workdir, seconds)
        if "projection" in names or "read" in names:
            found, sample = read_side.projection(srv, 10_000 if quick else 50_000)
            rows += found
        if "read" in names:
            assert sample is not None
            big = 20_000 if quick else 100_000
            rows += read_side.statistics_queries_replay(srv, workdir, seconds, sample, big)
        if "subscriptions" in names:
            rows += subscription_rows(srv.redis.url, 200 if quick else 1000)
    return rows


def subscription_rows(redis_url: str, count: int) -> list[Row]:
    import asyncio

    from .subscriptions import compare

    one, many = asyncio.run(compare(redis_url, count, 30))
    return [
        Row(
            f"subscriptions: delivery p99 with {count:,} subscribers on one process",
            "ms",
            many.p99_ms,
            "ms",
            "the same with 1 subscriber",
            one.p99_ms,
            target="<= 200",
            extra={
                "p50_ms": many.p50_ms,
                "p50_ms_1_subscriber": one.p50_ms,
                "server_cpu_ms_per_event": many.server_cpu_ms_per_event,
            },
            absolute=True,
        ),
        Row(
            f"subscriptions: Redis commands per event, {count:,} subscribers",
            "cmds",
            many.commands_per_event,
            "",
            "the same with 1 subscriber",
            one.commands_per_event,
            "<= 1.0",
        ),
    ]


def machine() -> dict[str, object]:
    model = ""
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return {
        "platform": platform.platform(),
        "cpu": model or platform.processor(),
        "cpus": os.cpu_count(),
        "python": sys.version.split()[0],
    }


def table(rows: list[Row]) -> str:
    head = f"{'scenario':<74} {'figure':>14} {'limit':>12} {'ratio':>7} {'target':>9}  ok"
    lines = [head, "-" * len(head)]
    for r in rows:
        ratio = f"{r.ratio:.2f}" if r.ratio is not None else "-"
        limit = f"{r.limit:,.1f}" if r.limit is not None else "-"
        ok = {True: "yes", False: "NO", None: "-"}[r.meets()]
        target = f"{r.target}{r.unit if r.absolute else ''}"
        lines.append(
            f"{r.scenario[:74]:<74} {r.value:>11,.1f}{r.unit:<3} {limit:>12} {ratio:>7} "
            f"{target:>9}  {ok}"
        )
        if r.limit_name:
            lines.append(f"{'':<6}limit: {r.limit_name}")
        for k, v in r.extra.items():
            lines.append(f"{'':<6}{k}: {v:,.2f}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("scenarios", nargs="*", metavar="SCENARIO", help=", ".join(SCENARIOS))
    parser.add_argument(
        "--seconds", type=float, default=15.0, help="length of each HTTP load (default 15)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="smaller data sets (a smoke run, not the figures)"
    )
    parser.add_argument(
        "--mongodb-url",
        default="",
        help="measure against this MongoDB (e.g. compose.yaml's mongod) instead of a "
        "SecantusDB of its own; its orders_bench_* databases are dropped at the end",
    )
    parser.add_argument("--json", default="bench/results/latest.json")
    args = parser.parse_args()
    unknown = set(args.scenarios) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios {sorted(unknown)}; choose from {SCENARIOS}")
    with tempfile.TemporaryDirectory(prefix="orders-bench-") as tmp:
        started = time.time()
        rows = run(
            args.scenarios or SCENARIOS, args.seconds, args.quick, Path(tmp), args.mongodb_url
        )
    elapsed = time.time() - started
    about = machine()
    about["mongodb"] = args.mongodb_url or "SecantusDB of its own"
    print(
        f"\n{about['cpus']} CPUs ({about['cpu']}), Python {about['python']}, "
        f"{about['platform']}; MongoDB: {about['mongodb']}; --seconds {args.seconds:g}"
        f"{' --quick' if args.quick else ''}; run took {elapsed / 60:.1f} min\n"
    )
    print(table(rows))
    out = Path(args.json)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "machine": about,
                "started": started,
                "seconds": args.seconds,
                "quick": args.quick,
                "elapsed": elapsed,
                "rows": [{**r.__dict__, "ratio": r.ratio, "meets_target": r.meets()} for r in rows],
            },
            indent=2,
        )
    )
    print(f"\nwritten to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
