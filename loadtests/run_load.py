"""``make load``: a headless locust swarm against a local gateway this starts, then its verdict.

    python -m loadtests.run_load [--users 60] [--spawn-rate 20] [--duration 60s] [--workers 1]

The gateway gets a schema and a Redis prefix of its own on ``DATABASE_URL`` / ``REDIS_URL``
(rate limits off), which are removed afterwards. Locust prints its summary; the locustfile
then writes the holds it made and runs ``loadtests/consistency.py`` against the gateway's
stores. The exit code is locust's: non-zero on failed requests or a failed consistency check.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile

from loadtests.harness import start_gateway, stop_gateway

LOCUSTFILE = os.path.join(os.path.dirname(__file__), "locustfile.py")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--users", type=int, default=60)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--duration", default="60s", help="locust --run-time, e.g. 60s or 5m")
    parser.add_argument("--workers", type=int, default=1, help="gateway worker processes")
    parser.add_argument("--hold-ttl", type=int, default=15, help="seconds an abandoned hold lives")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="gateway-load-") as tmp:
        log = os.path.join(tmp, "gateway.log")
        gateway = start_gateway(workers=args.workers, log_path=log)
        print(f"gateway on {gateway.url} ({args.workers} worker(s)); swarm of {args.users} for {args.duration}")
        try:
            env = os.environ | gateway.store_env() | {"LOAD_HOLDS_FILE": os.path.join(tmp, "holds.txt")}
            command = [
                sys.executable, "-m", "locust", "-f", LOCUSTFILE, "--headless", "--only-summary",
                "--host", gateway.url, "-u", str(args.users), "-r", str(args.spawn_rate),
                "--run-time", args.duration, "--stop-timeout", "2", "--hold-ttl", str(args.hold_ttl),
            ]  # fmt: skip
            return subprocess.run(command, env=env, check=False).returncode  # noqa: S603
        finally:
            stop_gateway(gateway)
            with open(log, encoding="utf-8", errors="replace") as f:
                problems = [line for line in f if "Traceback" in line or "ERROR" in line]
            if problems:
                print(f"the gateway logged {len(problems)} error line(s), e.g. {problems[0].strip()}")


if __name__ == "__main__":
    sys.exit(main())
