"""The API create of two checkouts, measured in turns (interleaved A/B).

This machine's speed can change by a factor of two within minutes, so the create's
throughput of two versions is compared by running them in turns, a few seconds each, on
the same database: each round starts gunicorn (`-w $(nproc) -k sync`, DEBUG off) from one
checkout, warms it up, drives POST /api/v1/incidents/ with wrk at N connections, and
reads the CPU every process used meanwhile from /proc/stat (CPU per create does not
depend on how busy the cores were). The other checkout is a git worktree of `--base`,
sharing this checkout's .venv and node_modules; both must run against the same schema
(apply the newer one's migrations first).

    DATABASE_URL=... REDIS_URL=... python -m bench.compare --base 39f4605 --rounds 5

Needs wrk (`apt-get install wrk`) and the 1M-incident database of bench.incidents.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from bench._common import django_setup, machine_speed
from bench.incidents import (
    _PRODUCTION_ENV,
    ROOT,
    _gunicorn,
    _wrk_post,
    create_requests,
    load_people,
)

PATH = "/api/v1/incidents/"


def _busy_seconds() -> float:
    """CPU time of the whole machine so far (all cores, all processes), idle excluded."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _round(root: Path, env: dict, request_for, args) -> tuple[float, float, float]:
    """(creates/s, server p50 ms, CPU ms per create) of one round from checkout `root`."""
    with _gunicorn("itsm.wsgi", args.workers, env, root=root) as (port, log):
        _wrk_post(port, path=PATH, request_for=request_for, connections=2, count=0, duration=3)
        before_lines = len(log.read_text().splitlines())
        busy = _busy_seconds()
        answers, failures, seconds, _client = _wrk_post(
            port, path=PATH, request_for=request_for, connections=args.connections,
            count=0, duration=args.duration,
        )  # fmt: skip
        busy = _busy_seconds() - busy
        time.sleep(0.5)  # gunicorn writes its access log after the response
        lines = log.read_text().splitlines()[before_lines:]
    if failures:
        raise SystemExit(f"{root}: {failures} failed requests")
    server = [int(line.split()[3]) / 1000 for line in lines if line.startswith("POST")]
    return answers / seconds, statistics.median(server), busy * 1000 / answers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, help="the revision to compare with")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--duration", type=int, default=5, help="seconds per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    os.environ.update(_PRODUCTION_ENV)
    os.environ.setdefault("DJANGO_SECRET_KEY", "bench-" + "x" * 50)
    django_setup()
    print(machine_speed())

    base = Path(tempfile.mkdtemp(prefix="bench-compare-")) / "base"
    subprocess.run(
        ["git", "worktree", "add", "--detach", "-q", str(base), args.base], cwd=ROOT, check=True
    )
    for shared in (".venv", "node_modules"):
        (base / shared).symlink_to(ROOT / shared)
    requests = create_requests(*load_people())
    env = {**os.environ}
    trees = {args.base: base, "this checkout": ROOT}
    results: dict[str, list] = {name: [] for name in trees}
    try:
        for n in range(args.rounds):
            for name, root in trees.items():
                rate, p50, cpu = _round(root, env, lambda i: requests[i % len(requests)], args)
                results[name].append((rate, p50, cpu))
                print(f"round {n + 1} {name}: {rate:.0f}/s, server p50 {p50:.2f} ms, "
                      f"CPU {cpu:.2f} ms per create")  # fmt: skip
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base)], cwd=ROOT)
    print(f"median of {args.rounds} rounds, {args.connections} connections:")
    for name, rows in results.items():
        rate, p50, cpu = (statistics.median(column) for column in zip(*rows, strict=True))
        print(f"  {name}: {rate:.0f}/s, server p50 {p50:.2f} ms, CPU {cpu:.2f} ms per create")


if __name__ == "__main__":
    main()
