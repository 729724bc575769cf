"""Benchmark eks-checks on generated corpora and print the numbers (not part of the tests).

    python tests/benchmarks/run.py [--sizes 1,200,2000,20000] [--runs 5] [--work DIR]
                                   [--checkov-up-to N] [--corpus mixed|cloudformation]

Per size: wall time (median of --runs runs), CPU time (user+sys of the scan process), peak
RSS, files per second, the parse floor (time to merely read and parse the same files with
the same parsers, in one process, no normalization), the floor divided by the cores, and the
ratio of our wall time to it; the same floor and ratio again with python-hcl2 (the reference
parser behind our HCL reader) for the .tf files. A scan with an empty cache (which fills it)
and a warm-cache re-scan are timed too, the first also as a ratio to the cold scan. When
`checkov` is on PATH, it is timed on the same corpus (frameworks restricted, sizes up to
--checkov-up-to) and the ratio printed.

Then a Kustomize tree of --kustomize-apps apps (three overlays each, so three renders per
app): the cold scan with kubectl on PATH (every root kustomization rendered, in the
workers), with one job, and without a renderer (read unrendered), and the warm re-scan.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent.parent))
sys.path.insert(0, str(HERE))

from generate import CORPORA, generate_kustomize  # noqa: E402


def timed(cmd: list[str], cwd: Path, env: dict | None = None) -> tuple[float, float, int, int]:
    """(wall s, cpu s, peak RSS KiB, exit code) of one run of `cmd`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    proc = subprocess.run(
        cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, after.ru_maxrss, proc.returncode


def peak_rss(cmd: list[str], cwd: Path, env: dict) -> int:
    """Peak RSS (KiB) of the scan and its workers, measured in a fresh child."""
    script = (
        "import resource, subprocess, sys\n"
        "subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)\n"
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, *cmd], cwd=cwd, capture_output=True, text=True, env=env
    )
    return int(out.stdout.strip() or 0)


def parse_floor(corpus: Path, reference_hcl: bool = False) -> float:
    """Seconds to read and parse every file once, in one process, with our parsers; with
    `reference_hcl`, .tf files are parsed by python-hcl2 (the reference behind our reader)."""
    script = (
        "import time, sys\n"
        "from checks.discover import discover, read_text\n"
        "from checks.parse.hcl import parse_terraform_hcl2\n"
        "from checks.sources import classify, parse_text\n"
        "files, _ = discover(['.'], classify)\n"
        "reference = sys.argv[1] == '1'\n"
        "t = time.perf_counter()\n"
        "for f in files:\n"
        "    text, _ = read_text(f.path)\n"
        "    try:\n"
        "        if reference and f.kind == 'terraform':\n"
        "            parse_terraform_hcl2(text)\n"
        "        else:\n"
        "            parse_text(f.kind, text)\n"
        "    except Exception:\n"
        "        pass\n"
        "print(time.perf_counter() - t)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, "1" if reference_hcl else "0"],
        cwd=corpus,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(HERE.parent.parent)},
    )
    return float(out.stdout.strip())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,200,2000,20000")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=None)
    ap.add_argument(
        "--checkov-up-to", type=int, default=2000, help="time Checkov only up to this size"
    )
    ap.add_argument("--kustomize-apps", type=int, default=30, help="0: no Kustomize tree")
    ap.add_argument(
        "--corpus",
        choices=sorted(CORPORA),
        default="mixed",
        help="mixed: Terraform, manifests, IAM JSON; cloudformation: templates and CDK output",
    )
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="eks-checks-bench-"))
    cores = os.cpu_count() or 1
    beside = Path(sys.executable).parent / "eks-checks"
    exe = str(beside) if beside.exists() else (shutil.which("eks-checks") or "eks-checks")
    checkov = shutil.which("checkov")
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}, eks-checks at {exe}")
    print(
        f"{'files':>6} {'wall s':>8} {'cpu s':>7} {'RSS MiB':>8} {'files/s':>8} "
        f"{'floor s':>8} {'floor/cores':>11} {'ratio':>6} {'hcl2 floor':>10} {'ratio':>6} "
        f"{'empty s':>7} {'ratio':>6} {'warm s':>7} {'checkov s':>9} {'x':>5}"
    )
    for size in (int(s) for s in args.sizes.split(",")):
        corpus = work / f"corpus-{args.corpus}-{size}"
        if not corpus.exists():
            CORPORA[args.corpus](corpus, size)
        cache = work / f"cache-{size}"
        shutil.rmtree(cache, ignore_errors=True)
        env = {**os.environ, "EKS_CHECKS_CACHE_DIR": str(cache)}
        cold = [exe, "scan", ".", "--format", "json", "--no-cache"]
        runs = [timed(cold, corpus, env) for _ in range(args.runs)]
        wall = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        rss = peak_rss(cold, corpus, env) / 1024
        floor = parse_floor(corpus)
        floor_hcl2 = parse_floor(corpus, reference_hcl=True)
        warm_cmd = [exe, "scan", ".", "--format", "json"]
        empty_runs = []
        for _ in range(args.runs):
            shutil.rmtree(cache, ignore_errors=True)
            empty_runs.append(timed(warm_cmd, corpus, env)[0])  # fills the cache
        empty = statistics.median(empty_runs)
        warm = statistics.median(timed(warm_cmd, corpus, env)[0] for _ in range(args.runs))
        line = (
            f"{size:>6} {wall:>8.3f} {cpu:>7.2f} {rss:>8.0f} {size / wall:>8.0f} "
            f"{floor:>8.2f} {floor / cores:>11.2f} {wall / max(floor / cores, 1e-9):>6.2f} "
            f"{floor_hcl2:>10.2f} {wall / max(floor_hcl2 / cores, 1e-9):>6.2f} "
            f"{empty:>7.3f} {empty / wall:>6.2f} {warm:>7.3f}"
        )
        if checkov and size <= args.checkov_up_to:
            ck = timed(
                [
                    checkov,
                    "-d",
                    ".",
                    "--quiet",
                    "--compact",
                    "--framework",
                    "terraform,kubernetes"
                    if args.corpus == "mixed"
                    else "cloudformation,kubernetes",
                    "-o",
                    "json",
                ],
                corpus,
            )[0]
            line += f" {ck:>9.2f} {ck / wall:>5.1f}"
        print(line, flush=True)
    if args.kustomize_apps:
        kustomize(work, exe, args.kustomize_apps, args.runs)


def kustomize(work: Path, exe: str, apps: int, runs: int) -> None:
    """The Kustomize tree: rendered (all jobs, one job), unrendered, and warm."""
    tree = work / f"kustomize-{apps}"
    if not tree.exists():
        generate_kustomize(tree, apps)
    cache = work / "cache-kustomize"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "EKS_CHECKS_CACHE_DIR": str(cache)}
    # a PATH without kubectl and kustomize: only the folder of the Python that runs us
    bare = {**env, "PATH": str(Path(sys.executable).parent)}
    cold = [exe, "scan", ".", "--format", "json", "--no-cache"]
    rendered = statistics.median(timed(cold, tree, env)[0] for _ in range(runs))
    serial = statistics.median(timed([*cold, "--jobs", "1"], tree, env)[0] for _ in range(runs))
    plain = statistics.median(timed(cold, tree, bare)[0] for _ in range(runs))
    warm_cmd = [exe, "scan", ".", "--format", "json"]
    timed(warm_cmd, tree, env)  # fills the cache
    warm = statistics.median(timed(warm_cmd, tree, env)[0] for _ in range(runs))
    print(
        f"kustomize: {apps} apps, {apps * 3} overlays rendered: {rendered:.2f} s "
        f"({serial:.2f} s with --jobs 1), unrendered {plain:.2f} s, warm {warm:.2f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
