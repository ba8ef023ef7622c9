"""Benchmark: `infra drift` / `infra reconcile` against plain kubectl on the same cluster and objects.

    KUBEBUILDER_ASSETS=... .venv/bin/python tests/bench/bench_gitops.py            # a throwaway control plane
    .venv/bin/python tests/bench/bench_gitops.py --kubeconfig FILE --runs 7   # your cluster (it writes)

Pairs, run alternately so machine load hits both alike; medians of wall-clock seconds and their ratio:

* drift: ``infra drift --env local`` vs ``kubectl kustomize manifests/envs/local | kubectl diff --server-side
  --field-manager=infra --force-conflicts -f -``;
* reconcile: ``infra reconcile --env local --no-wait`` vs ``kubectl kustomize ... | kubectl apply
  --server-side --field-manager=infra --force-conflicts -f -``.

Both sides run after the lab has been reconciled once (steady state: nothing to change), as a scheduled
reconcile job finds it. Not a test: nothing asserts; it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KUBECTL = BIN / "kubectl"
ENTRY = REPO / "manifests" / "envs" / "local"
HOST = "127-0-0-1.nip.io"


def timed(argv: list[str] | str, env: dict[str, str], ok: tuple[int, ...] = (0,)) -> float:
    began = time.perf_counter()
    done = subprocess.run(
        argv, env=env, shell=isinstance(argv, str), capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - began
    if done.returncode not in ok:
        raise SystemExit(f"{argv} exited {done.returncode}: {done.stderr[-400:]}")
    return seconds


def bench(kubeconfig: Path, runs: int) -> None:
    state = Path(tempfile.mkdtemp(prefix="bench-state-"))
    (state / "local").mkdir()
    shutil.copy(kubeconfig, state / "local" / "kubeconfig")
    os.chmod(state / "local" / "kubeconfig", 0o600)
    context = subprocess.run(
        [str(KUBECTL), "--kubeconfig", str(kubeconfig), "config", "current-context"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (state / "local" / "outputs.json").write_text(json.dumps({"context": context, "ingress_host": HOST}))
    env = {**os.environ, "INFRA_STATE_DIR": str(state), "NO_COLOR": "1", "KUBERC": "off"}
    env.pop("KUBECONFIG", None)
    infra = str(BIN / "infra")
    kube = f"{KUBECTL} --kubeconfig {kubeconfig}"
    render = f"{KUBECTL} kustomize {ENTRY}"
    flags = "--server-side --field-manager=infra --force-conflicts -f -"
    pairs = {
        "drift": (
            [infra, "drift", "--env", "local"],
            f"set -o pipefail; {render} | {kube} diff {flags}",
        ),
        "reconcile": (
            [infra, "reconcile", "--env", "local", "--no-wait"],
            f"set -o pipefail; {render} | {kube} apply {flags}",
        ),
    }
    timed([infra, "reconcile", "--env", "local", "--no-wait"], env)  # the lab in place, secrets created
    print(f"{runs} runs each, paired, medians (wall-clock seconds); cluster {context}")
    for name, (ours, theirs) in pairs.items():
        mine, plain = [], []
        for _ in range(runs):
            mine.append(timed(ours, env, ok=(0, 1)))
            plain.append(timed(["bash", "-c", theirs], env, ok=(0, 1)))
        a, b = statistics.median(mine), statistics.median(plain)
        print(f"  {name:<10} infra {a:5.2f} s   kubectl {b:5.2f} s   ratio {a / b:4.2f}x")
    shutil.rmtree(state, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--kubeconfig", type=Path, help="a cluster to benchmark on (the lab is applied to it)"
    )
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    if args.kubeconfig:
        bench(args.kubeconfig, args.runs)
        return
    sys.path.insert(0, str(REPO / "tests" / "cluster"))
    from plane import ControlPlane  # the control-plane tier's own launcher

    with ControlPlane(nodes=2) as plane:
        bench(plane.kubeconfig, args.runs)


if __name__ == "__main__":
    main()
