"""Benchmark eks-checks on generated corpora and print the numbers (not part of the tests).

    python tests/benchmarks/run.py [--sizes 1,200,2000,20000] [--corpus mixed,monorepo]
                                   [--runs 5] [--work DIR] [--peers-up-to N] [--kustomize-apps N]

Per corpus (`generate.py`: `mixed`, `cloudformation`, or `monorepo`, environment directories
that share names) and size: wall time (median of --runs runs), CPU time (user+sys of the scan
process), peak RSS, files per second, the parse floor (time to merely read and parse the same
files with the same parsers, in one process, no normalization), the floor divided by the
cores, and the ratio of our wall time to it; the same floor and ratio again with python-hcl2
(the reference parser behind our HCL reader) for the .tf files. A scan with one worker
(`--jobs 1`) and the speed-up of the default over it, a scan with an empty cache (which
fills it) and a warm-cache re-scan are timed too, the empty one also as a ratio to the cold
scan. When `checkov` or `trivy` is on PATH (or beside this Python), each is timed once on
the same corpus (sizes up to --peers-up-to; Checkov's frameworks and Trivy's misconfiguration
scanners restricted to Terraform and Kubernetes), with its peak RSS and its time as a ratio
to ours. After each corpus, the growth of the cold and warm times from each size to the next.

With `--tree DIR` (a folder of your own, e.g. real repositories side by side): its
`--no-cache` scan (wall, CPU, peak RSS), and the pre-commit hook on it (`--context-root=DIR`
and one file, `--hook-file`, else its first `.tf` file): cold (an empty cache), warm (the
same file again, through the hook's index), warm with the index made to fall back to the
whole context, and each commit's (another file's hook run first), against issue 22's
budgets; the peak RSS of each and the size of the hook's pack. Beside them, the file scanned
alone (`--no-cache FILE`, no context): the least any run on that file costs on this machine,
and each hook time as a multiple of it (issue 22 set 0.3 s where the file alone took 0.16 s:
1.9x). With `--hook-edit`, the hook right after the file is edited too (an empty line
appended, the file put back byte for byte after each run). `--corpus ''` leaves the
generated corpora out.

Then a Kustomize tree of --kustomize-apps apps (three overlays each, so three renders per
app): the cold scan with kubectl on PATH (every root kustomization rendered, in the
workers), with one job, and without a renderer (read unrendered), and the warm re-scan.
"""

from __future__ import annotations

import argparse
import itertools
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


def peers() -> dict[str, str]:
    """The other scanners found on PATH or beside this Python: name -> executable."""
    found = {}
    for name in ("checkov", "trivy"):
        beside = Path(sys.executable).parent / name
        exe = str(beside) if beside.exists() else shutil.which(name)
        if exe is not None:
            found[name] = exe
    return found


def peer_command(name: str, exe: str, corpus: str, work: Path) -> list[str]:
    """The command of a peer that scans the working directory's files of `corpus`'s formats
    (Terraform or CloudFormation, and Kubernetes), with JSON output."""
    formats = "cloudformation,kubernetes" if corpus == "cloudformation" else "terraform,kubernetes"
    if name == "checkov":
        return [exe, "-d", ".", "--quiet", "--compact", "--framework", formats, "-o", "json"]
    # Trivy's default timeout of 5 minutes ends a large corpus with "context deadline exceeded"
    command = [exe, "config", "--skip-check-update", "--skip-version-check", "--quiet"]
    command += ["--misconfig-scanners", formats, "--timeout", "60m", "--format", "json"]
    return [*command, "--cache-dir", str(work / "trivy-cache"), "."]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1,200,2000,20000")
    ap.add_argument("--corpus", default="mixed,monorepo", help=f"of {', '.join(CORPORA)}")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--work", default=None)
    ap.add_argument(
        "--peers-up-to", type=int, default=2000, help="time Checkov and Trivy up to this size"
    )
    ap.add_argument("--kustomize-apps", type=int, default=30, help="0: no Kustomize tree")
    ap.add_argument("--tree", default=None, help="a folder of your own to scan and hook")
    ap.add_argument("--hook-file", default=None, help="relative to --tree: the hook's file")
    ap.add_argument(
        "--hook-edit",
        action="store_true",
        help="also time the hook right after an edit of the hook's file (put back after)",
    )
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="eks-checks-bench-"))
    cores = os.cpu_count() or 1
    beside = Path(sys.executable).parent / "eks-checks"
    exe = str(beside) if beside.exists() else (shutil.which("eks-checks") or "eks-checks")
    others = peers()
    print(f"machine: {cores} cores, Python {sys.version.split()[0]}, eks-checks at {exe}")
    print(f"peers: {', '.join(f'{n} at {e}' for n, e in others.items()) or 'none found'}")
    header = (
        f"{'corpus':>14} {'files':>6} {'wall s':>8} {'cpu s':>7} {'RSS MiB':>8} {'files/s':>8} "
        f"{'floor s':>8} {'floor/cores':>11} {'ratio':>6} {'hcl2 floor':>10} {'ratio':>6} "
        f"{'1 job s':>7} {'x':>5} {'empty s':>7} {'ratio':>6} {'warm s':>7}"
    )
    for name in others:
        header += f" {name + ' s':>10} {'MiB':>6} {'x':>5}"
    kinds = [kind for kind in args.corpus.split(",") if kind]
    if kinds:
        print(header)
    for kind in kinds:
        measured: list[tuple[int, float, float]] = []
        for size in (int(s) for s in args.sizes.split(",")):
            wall, warm = measure(kind, size, work, exe, cores, others, args)
            measured.append((size, wall, warm))
        for (small, cold_a, warm_a), (large, cold_b, warm_b) in itertools.pairwise(measured):
            print(
                f"{kind}: {small} -> {large} files ({large / small:.0f}x): cold "
                f"{cold_b / cold_a:.1f}x, warm {warm_b / warm_a:.1f}x",
                flush=True,
            )
    if args.tree:
        own_tree(Path(args.tree).resolve(), work, exe, args.runs, args.hook_file, args.hook_edit)
    if args.kustomize_apps:
        kustomize(work, exe, args.kustomize_apps, args.runs)


HOOK_WARM_BUDGET, HOOK_COLD_BUDGET = 0.3, 1.2  # seconds, issue 22
# what the file given to the hook took alone when issue 22 set those budgets: a warm hook
# within 0.3 s was 1.9x the file alone
HOOK_ALONE_THEN = 0.16


def own_tree(
    tree: Path, work: Path, exe: str, runs: int, hook_file: str | None, edit: bool = False
) -> None:
    """A tree of the user's: the whole scan, and the hook's cold, warm and each commit's runs
    (and right after an edit, with `edit`), each also as a multiple of the file alone."""
    cache = work / "cache-tree"
    env = {**os.environ, "EKS_CHECKS_CACHE_DIR": str(cache)}
    whole = [exe, "scan", ".", "--format", "json", "--no-cache"]
    scans = [timed(whole, tree, env) for _ in range(runs)]
    print(
        f"tree {tree.name}: --no-cache scan {statistics.median(r[0] for r in scans):.2f} s, "
        f"{statistics.median(r[1] for r in scans):.2f} s CPU, "
        f"peak {peak_rss(whole, tree, env) / 1024:.0f} MiB",
        flush=True,
    )
    candidates = sorted(
        str(p.relative_to(tree)) for p in tree.rglob("*.tf") if ".terraform" not in p.parts
    )
    file = hook_file or (candidates[0] if candidates else None)
    other = next((c for c in candidates if c != file), None)
    if file is None or other is None:
        print(f"tree {tree.name}: no two .tf files for the hook (give --hook-file)")
        return

    def hook(path: str) -> list[str]:
        return [exe, "scan", "--context-root=.", "--format", "json", path]

    def falling_back(path: str) -> list[str]:
        """The hook, its index made to fall back (as past its limit of changed units): the
        whole context read, the index kept or written again."""
        force = (
            "import sys; from checks import hookindex; hookindex.MAX_CHANGED_UNITS = -1; "
            "from checks.cli import main; sys.exit(main(sys.argv[1:]))"
        )
        return [sys.executable, "-c", force, *hook(path)[1:]]

    cold = []
    for _ in range(runs):
        shutil.rmtree(cache, ignore_errors=True)
        cold.append(timed(hook(file), tree, env)[:2])
    shutil.rmtree(cache, ignore_errors=True)
    cold_peak = peak_rss(hook(file), tree, env)
    timed(hook(file), tree, env)  # the cold run's stamps, then the same file again
    warm = [timed(hook(file), tree, env)[:2] for _ in range(runs)]
    warm_peak = peak_rss(hook(file), tree, env)
    fallback = [timed(falling_back(file), tree, env)[:2] for _ in range(runs)]
    fallback_peak = peak_rss(falling_back(file), tree, env)
    commits = []
    for _ in range(runs):
        timed(hook(other), tree, env)  # the last commit gave another file
        commits.append(timed(hook(file), tree, env)[:2])
    edited = [edited_run(tree, file, hook(file), env) for _ in range(runs if edit else 0)]
    alone_cmd = [exe, "scan", "--no-cache", "--format", "json", file]
    alone = statistics.median(timed(alone_cmd, tree, env)[0] for _ in range(runs))
    ratio = HOOK_WARM_BUDGET / HOOK_ALONE_THEN
    print(
        f"tree {tree.name}: {file} alone (--no-cache, no context): {alone:.2f} s "
        f"(the warm budget as {ratio:.1f}x of it: {alone * ratio:.2f} s)",
        flush=True,
    )
    packs = sorted(cache.rglob("*.pack"), key=lambda p: p.stat().st_size)
    pack_size = packs[-1].stat().st_size if packs else 0
    shutil.rmtree(cache, ignore_errors=True)
    for name, measured, peak, budget in (
        ("cold (empty cache)", cold, cold_peak, HOOK_COLD_BUDGET),
        ("warm (same file)", warm, warm_peak, HOOK_WARM_BUDGET),
        ("warm, the index falling back", fallback, fallback_peak, None),
        ("each commit (another file before)", commits, None, HOOK_WARM_BUDGET),
        ("right after an edit of it", edited, None, HOOK_WARM_BUDGET),
    ):
        if not measured:
            continue
        took = statistics.median(w for w, _ in measured)
        cpu = statistics.median(c for _, c in measured)
        said = f", peak {peak / 1024:.0f} MiB" if peak else ""
        said += f", {took / alone:.1f}x the file alone"
        if budget is not None:
            said += f", budget {budget} s: {'met' if took <= budget else 'not met'}"
        print(
            f"tree {tree.name}: hook on {file}, {name}: {took:.2f} s ({cpu:.2f} s CPU){said}",
            flush=True,
        )
    print(f"tree {tree.name}: the hook's pack {pack_size / 2**20:.1f} MiB", flush=True)


def edited_run(tree: Path, file: str, cmd: list[str], env: dict) -> tuple[float, float]:
    """(wall s, cpu s) of the hook run right after `file` is edited (an empty line appended,
    which any syntax takes, older than the cache's racy window), the file put back byte for
    byte after."""
    path = tree / file
    original = path.read_bytes()
    try:
        path.write_bytes(original + b"\n")
        time.sleep(2.1)  # past the cache's racy window: the edit is seen as settled
        took = timed(cmd, tree, env)[:2]
    finally:
        path.write_bytes(original)
    time.sleep(2.1)
    timed(cmd, tree, env)  # the file as it was, cached again for the next round
    return took


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


def measure(
    kind: str, size: int, work: Path, exe: str, cores: int, others: dict, args
) -> tuple[float, float]:
    """Print one line of the table; return the cold and warm wall times."""
    corpus = work / f"{kind}-{size}"
    if not corpus.exists():
        CORPORA[kind](corpus, size)
    cache = work / f"cache-{kind}-{size}"
    shutil.rmtree(cache, ignore_errors=True)
    env = {**os.environ, "EKS_CHECKS_CACHE_DIR": str(cache)}
    cold = [exe, "scan", ".", "--format", "json", "--no-cache"]
    runs = [timed(cold, corpus, env) for _ in range(args.runs)]
    wall = statistics.median(r[0] for r in runs)
    cpu = statistics.median(r[1] for r in runs)
    rss = peak_rss(cold, corpus, env) / 1024
    one_job = statistics.median(
        timed([*cold, "--jobs", "1"], corpus, env)[0] for _ in range(args.runs)
    )
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
        f"{kind:>14} {size:>6} {wall:>8.3f} {cpu:>7.2f} {rss:>8.0f} {size / wall:>8.0f} "
        f"{floor:>8.2f} {floor / cores:>11.2f} {wall / max(floor / cores, 1e-9):>6.2f} "
        f"{floor_hcl2:>10.2f} {wall / max(floor_hcl2 / cores, 1e-9):>6.2f} "
        f"{one_job:>7.3f} {one_job / wall:>5.2f} {empty:>7.3f} {empty / wall:>6.2f} {warm:>7.3f}"
    )
    for name, peer in others.items():
        if size <= args.peers_up_to:
            command = peer_command(name, peer, kind, work)
            took = timed(command, corpus)[0]
            peak = peak_rss(command, corpus, dict(os.environ)) / 1024
            line += f" {took:>10.2f} {peak:>6.0f} {took / wall:>5.1f}"
        else:
            line += f" {'-':>10} {'-':>6} {'-':>5}"
    print(line, flush=True)
    return wall, warm


if __name__ == "__main__":
    main()
