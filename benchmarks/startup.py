"""Startup cost of gymplug, side by side in one run: hook on against GYMPLUG_AUTOLOAD=0.

    python benchmarks/startup.py PYTHON [--runs N] [--host gymnasium|gym]

PYTHON is the interpreter of an environment with gymplug (and the host) installed. Each row runs
the same command alternately with the startup hook on and off, in fresh processes, and reports
medians and their ratio. bench.py measures the same among the rest; this script gives the
startup hook alone many more rounds, for a tight median.
"""

from __future__ import annotations

import argparse
import os
import statistics

import clock  # this script's directory is on sys.path

TIMEOUT = 600.0


def timed(python: str, code: str, env: dict[str, str]) -> float:
    return clock.run([python, "-c", code], env=env, timeout=TIMEOUT, check=True).wall


def compare(python: str, code: str, runs: int) -> tuple[float, float]:
    # PYTHONDONTWRITEBYTECODE would compile every module without a .pyc anew in each run.
    on_env = {k: v for k, v in os.environ.items() if k not in ("GYMPLUG_AUTOLOAD", "PYTHONDONTWRITEBYTECODE")}
    off_env = {**on_env, "GYMPLUG_AUTOLOAD": "0"}
    on, off = [], []
    for _ in range(runs):  # alternate, so that drifts of a shared machine hit both alike
        on.append(timed(python, code, on_env))
        off.append(timed(python, code, off_env))
    return statistics.median(on), statistics.median(off)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("python")
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument("--host", default="gymnasium", choices=["gymnasium", "gym"])
    args = parser.parse_args()
    rows = [("python -c pass", "pass"), (f"python -c 'import {args.host}'", f"import {args.host}")]
    print(f"| command ({args.runs} runs each, medians) | hook on | GYMPLUG_AUTOLOAD=0 | on / off | on - off |")
    print("| --- | --- | --- | --- | --- |")
    for label, code in rows:
        on, off = compare(args.python, code, args.runs)
        print(f"| `{label}` | {on * 1e3:.2f} ms | {off * 1e3:.2f} ms | {on / off:.3f} | {(on - off) * 1e3:+.2f} ms |")


if __name__ == "__main__":
    main()
