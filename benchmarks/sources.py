"""What finding import sources and reading where they register cost: a synthetic site, then the real path.

    python benchmarks/sources.py [--dists 1000] [--runs 7] [--host gymnasium|gym] [--real]

It builds a site directory of --dists distributions as pip leaves them (METADATA with classifiers, a
long description and requirements, RECORD, top_level.txt), 2% of them sources (a few through a chain),
dated a minute back as if installed earlier, and times ``find_sources`` in fresh processes (median of
--runs, wall clock and the process's CPU time, which a busy machine disturbs less): the first call of a process (cold: every METADATA read and parsed), a call that finds nothing
changed (warm), and the call after a distribution was installed into the site (one directory listed
again; folders whose files stat the same are not read again). With --real it then times
``registration_modules`` on every import source of this interpreter's own sys.path.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

CLASSIFIERS = "".join(f"Classifier: Topic :: Scientific/Engineering :: Field {i}\n" for i in range(25))
BODY = "A long description, as most METADATA ends with.\n" * 120

PROBE = """
import json, os, sys, time
from gymplug._learning._sources import find_sources
site, host = sys.argv[1], sys.argv[2]
path = [site]
def timed(call):
    wall, cpu = time.perf_counter(), time.process_time()
    result = call()
    return result, time.perf_counter() - wall, time.process_time() - cpu
found, cold, cold_cpu = timed(lambda: find_sources(host, path))
warm = sorted(timed(lambda: find_sources(host, path))[1:] for _ in range(200))
new = os.path.join(site, "hot_install-1.0.dist-info")
os.mkdir(new)
with open(os.path.join(new, "METADATA"), "w") as f:
    f.write("Metadata-Version: 2.1\\nName: hot-install\\nVersion: 1.0\\nRequires-Dist: " + host + "\\n")
with open(os.path.join(new, "top_level.txt"), "w") as f:
    f.write("hot_install\\n")
after, hot, hot_cpu = timed(lambda: find_sources(host, path))
os.remove(os.path.join(new, "METADATA")); os.remove(os.path.join(new, "top_level.txt")); os.rmdir(new)
os.utime(site, (time.time() - 60,) * 2)  # as installed earlier again, for the next process
print(json.dumps({"cold": cold, "cold_cpu": cold_cpu, "warm": warm[100][0], "warm_cpu": warm[100][1], "hot": hot,
                  "hot_cpu": hot_cpu, "sources": len(found[0]),
                  "found_hot": "hot-install" in {s.key for s in after[0]}}))
"""


def build_site(root: Path, count: int, host: str) -> Path:
    site = root / "site"
    site.mkdir()
    for i in range(count):
        name = f"bench-dist-{i:04d}"
        module = name.replace("-", "_")
        if i % 50 == 0:
            requires = [f"{host}>=0.26", "numpy>=1.21"]
        elif i % 50 == 1:
            requires = [f"bench-dist-{i - 1:04d}", "numpy"]  # a chain: this -> a source -> the host
        else:
            requires = ["numpy>=1.21", "requests; extra == 'http'", "typing-extensions; python_version < '3.11'"]
        folder = site / f"{module}-1.0.0.dist-info"
        folder.mkdir()
        headers = "".join(f"Requires-Dist: {r}\n" for r in requires)
        (folder / "METADATA").write_text(
            f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0.0\nSummary: x\nLicense: MIT\n{CLASSIFIERS}"
            f"Requires-Python: >=3.9\n{headers}Provides-Extra: http\nDescription-Content-Type: text/markdown\n\n{BODY}"
        )
        rows = [f"{module}/m{j}.py,sha256=x,100" for j in range(20)] + [f"{folder.name}/METADATA,,", f"{folder.name}/RECORD,,"]
        (folder / "RECORD").write_text("\n".join(rows) + "\n")
        (folder / "top_level.txt").write_text(module + "\n")
        (folder / "INSTALLER").write_text("pip\n")
    old = time.time() - 60
    for path in site.rglob("*"):
        os.utime(path, (old, old))
    os.utime(site, (old, old))
    return site


def real(host: str) -> None:
    from gymplug._learning._scan import registration_modules
    from gymplug._learning._sources import find_sources

    usable, disabled = find_sources(host, sys.path)
    print("\n| source | via | registration_modules | ms wall | ms CPU (medians of 5) |\n| --- | --- | --- | --- | --- |")
    for source in usable + disabled:
        wall, cpu = [], []
        for _ in range(5):
            start, used = time.perf_counter(), time.process_time()
            found = registration_modules(source, host)
            wall.append(time.perf_counter() - start)
            cpu.append(time.process_time() - used)
        row = f"{statistics.median(wall) * 1e3:.1f} | {statistics.median(cpu) * 1e3:.1f}"
        print(f"| {source.key} {source.version} | {source.via!r} | {found} | {row} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dists", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--host", default="gymnasium")
    parser.add_argument("--real", action="store_true", help="also time registration_modules on this sys.path's sources")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as root:
        site = build_site(Path(root), args.dists, args.host)
        samples = []
        for _ in range(args.runs):
            cmd = [sys.executable, "-c", textwrap.dedent(PROBE), str(site), args.host]
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
            samples.append(json.loads(proc.stdout))
    print(f"find_sources over {args.dists} distributions ({samples[0]['sources']} sources), median of {args.runs} processes:")
    print("| call | ms (wall) | ms (CPU of the process) |\n| --- | --- | --- |")
    for key, what in (("cold", "first call of a process"), ("warm", "nothing changed"), ("hot", "after an install")):
        wall, cpu = (statistics.median(s[k] for s in samples) * 1e3 for k in (key, f"{key}_cpu"))
        print(f"| {what} | {wall:.3f} | {cpu:.3f} |")
    if not all(s["found_hot"] for s in samples):
        raise SystemExit("the distribution installed into the running process was not found")
    if args.real:
        real(args.host)


if __name__ == "__main__":
    main()
