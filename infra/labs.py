"""The lab registry: every lab and every claim it makes, in one table.

A lab is one entry here: its ID prefix, namespace, manifests folder, the probe modules in ``infra/probes``
that decide its claims, its live test file in ``tests/live`` (one test per claim, named after the ID), the
offline tests of those decisions, and its claims. Everything else reads this table: ``infra verify --only``
(known IDs and areas), the verification report (titles and order), the README's lab table, the catalog
``docs/labs.md`` (generated: ``python -m infra.labs --markdown > docs/labs.md``) and
``tests/unit/test_labs.py``, which checks that every registered part exists. Adding a lab means adding one
:class:`Lab` entry to :data:`LABS`, then the parts it names.

Claims say what they depend on (``depends_on``: other claim IDs, or a prerequisite of :data:`PREREQUISITES`)
and whether proving them needs real pods (exec, logs or HTTP into running containers) or only the control
plane's word (object state, scheduling, controllers). A cluster without real nodes can decide the second kind.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass

from infra.errors import InfraError

ALL_ENVIRONMENTS = ("local", "aws")
_AWS = ("aws",)

# Prerequisites that are not claims of their own: a claim names them in ``depends_on``.
PREREQUISITES: dict[str, str] = {
    "dns": "cluster DNS answers inside pods (the probes resolve Service and pod names from a probe pod)",
}


@dataclass(frozen=True)
class Claim:
    """One checkable statement about a running lab, with a stable ID such as ``STS-3``."""

    id: str  # "STS-3"
    title: str  # one line; the verification report prints it
    environments: tuple[str, ...] = ALL_ENVIRONMENTS
    verified: str = ""  # what the live probe looks at to decide it
    depends_on: tuple[str, ...] = ()  # claim IDs or PREREQUISITES keys that must hold first
    needs_pods: bool = True  # False: the control plane alone decides it (no exec/logs/HTTP into pods)

    @property
    def area(self) -> str:
        """``STS-3`` -> ``STS``: the lab's ID prefix."""
        return self.id.split("-")[0]

    @property
    def test_prefix(self) -> str:
        """``STS-3`` -> ``test_sts_3_``: the live test's name starts with it (the ``_`` ends the number)."""
        area, number = self.id.split("-")
        return f"test_{area.lower()}_{number}_"

    def applies_to(self, environment: str) -> bool:
        return environment in self.environments


@dataclass(frozen=True)
class Lab:
    """One lab and all its parts; paths are relative to the repository root."""

    prefix: str  # "STS": the claim IDs' prefix
    title: str
    namespace: str | None  # where its objects run (None: the lab is the cluster itself)
    manifests: str | None  # kustomize folder, manifests/base/<x> or manifests/components/<x>
    probes: tuple[str, ...]  # modules of infra/probes deciding its claims
    live_tests: str  # tests/live/test_<x>.py
    offline_tests: tuple[str, ...]  # unit tests of its decisions (files or folders)
    claims: tuple[Claim, ...]
    try_it: str = ""  # one command to look at the running lab (README's lab table)

    @property
    def environments(self) -> tuple[str, ...]:
        """Where the lab runs: every environment one of its claims applies to."""
        return tuple(e for e in ALL_ENVIRONMENTS if any(c.applies_to(e) for c in self.claims))

    @property
    def id_range(self) -> str:
        """``STS-1..5`` (or ``ENV-1`` for a one-claim lab)."""
        first, last = self.claims[0].id, self.claims[-1].id.split("-")[1]
        return first if len(self.claims) == 1 else f"{first}..{last}"


_PROBES_TESTS = "tests/unit/probes"

LABS: tuple[Lab, ...] = (
    Lab(
        "ENV",
        "The cluster",
        None,
        None,
        ("nodes",),
        "tests/live/test_env.py",
        (f"{_PROBES_TESTS}/test_workload_decisions.py",),
        (
            Claim(
                "ENV-1",
                "all nodes Ready (1 control-plane + 2 workers by default)",
                verified="every node Ready; 1 control plane + 2 workers",
                needs_pods=False,
            ),
        ),
    ),
    Lab(
        "ADD",
        "Cluster addons",
        None,
        None,
        ("metrics", "http", "nlb"),
        "tests/live/test_addons.py",
        (
            f"{_PROBES_TESTS}/test_workload_decisions.py",
            f"{_PROBES_TESTS}/test_dns_mysql_http.py",
            f"{_PROBES_TESTS}/test_edge_decisions.py",
        ),
        (
            Claim(
                "ADD-1",
                "metrics-server APIService Available; kubectl top returns numbers",
                verified="APIService `v1beta1.metrics.k8s.io` Available; `kubectl top nodes` / `top pods` "
                "return numbers",
            ),
            Claim(
                "ADD-2",
                "ingress-nginx controller Ready and answering on the ingress address",
                verified="ingress-nginx controller Ready and answering on the ingress address (its HTTP and "
                "HTTPS ports: 80 and 443 unless `lab:httpPort`/`lab:httpsPort` say otherwise)",
            ),
            Claim(
                "ADD-3",
                "StorageClass nfs-client binds a PVC and creates its directory on the export",
                verified="StorageClass `nfs-client`; a PVC becomes Bound and its directory appears on the "
                "NFS export",
            ),
            Claim(
                "ADD-4",
                "AWS Load Balancer Controller Ready; its IAM policy on control-plane and node roles",
                _AWS,
                verified="AWS Load Balancer Controller Available; its policy attached to control-plane and "
                "node roles",
            ),
        ),
    ),
    Lab(
        "CTL",
        "Controllers: ReplicaSet, Deployment, DaemonSet, Jobs, config, quotas",
        "lab-ctl",
        "manifests/base/ctl",
        ("ctl",),
        "tests/live/test_ctl.py",
        (f"{_PROBES_TESTS}/test_ctl_decisions.py",),
        (
            Claim(
                "CTL-1",
                "ReplicaSet whoami-web (3 replicas) replaces a deleted pod at once; its pods name it owner",
                verified="each `whoami-web` pod's controller ownerReference is the live ReplicaSet (uid); "
                "a deleted pod is replaced within 15 s, the count back at 3",
                needs_pods=False,
            ),
            Claim(
                "CTL-2",
                "Deployment -> ReplicaSet -> Pod; a new template makes a new ReplicaSet, undo returns",
                verified="ownerReferences `pi-web` -> ReplicaSet -> pods (uids, pod-template-hash); a "
                "template change rolls to a new ReplicaSet, the old one kept at 0; `kubectl rollout "
                "undo` scales that same old ReplicaSet back up",
                needs_pods=False,
            ),
            Claim(
                "CTL-3",
                "kubectl scale --replicas=4 deploy/pi-web is undone by the next apply of the manifests (2)",
                verified="after `kubectl scale --replicas=4`, reconcile's own server-side apply (field "
                "manager `infra`, conflicts forced) of git's `pi-web` sets 2 replicas; 2 pods remain",
                needs_pods=False,
            ),
            Claim(
                "CTL-4",
                "RollingUpdate (maxUnavailable 0) keeps Service endpoints; Recreate stops old pods first",
                verified="watching EndpointSlices and pods through a template change: `pi-web` never has "
                "fewer than 2 ready endpoints and two ReplicaSets' pods coexist; `pi-web-recreate` has "
                "no new pod while an old one exists",
                needs_pods=False,
            ),
            Claim(
                "CTL-5",
                "DaemonSet pi-proxy: one pod per eligible node; labelling kiamol=ch06 adds one, unlabelling "
                "removes it",
                verified="one `pi-proxy` pod on each node labelled `kiamol=ch06` whose taints it tolerates, "
                "none elsewhere: before, with the label on every such node, after removing it from one; "
                "every label the probe added is removed",
                needs_pods=False,
            ),
            Claim(
                "CTL-6",
                "a Service's EndpointSlices list every ready ReplicaSet pod, following scale up and down",
                verified="ready endpoints of `whoami-web` (EndpointSlices, by pod) == its ready pods at 3, "
                "after scaling to 5 and to 2; back to 3",
                needs_pods=False,
            ),
            Claim(
                "CTL-7",
                "Jobs complete (completions, backoffLimit); activeDeadlineSeconds fails one; CronJob keeps "
                "its history",
                verified="`pi-job` Complete with 3 successful pods; `sleepy-job` Failed with reason "
                "`DeadlineExceeded`; `pi-cron` makes a Job within 90 s, at a time its schedule fires, "
                "and keeps at most 2 successful / 1 failed",
            ),
            Claim(
                "CTL-8",
                "a ConfigMap and a Secret reach a pod as env (fixed at start) and files (updated in place)",
                verified="`config-demo` sees GREETING/MOTTO and /config/greeting, /secret/motto; after a "
                "ConfigMap change the file shows the new value within 90 s, GREETING keeps the old one, "
                "no restart; the value is put back",
            ),
            Claim(
                "CTL-9",
                "a ResourceQuota refuses a pod over it (exceeded quota); a LimitRange fills in defaults",
                verified="a pod asking 1 CPU more than `ctl-quota` allows is refused with `exceeded quota: "
                "ctl-quota`; a pod without resources gets `ctl-defaults`' requests and limits",
                needs_pods=False,
            ),
            Claim(
                "CTL-10",
                "pods reach other namespaces by default; a NetworkPolicy that denies ingress stops it",
                verified="`peer` (`lab-ctl-peer`) reaches a `whoami-web` pod in `lab-ctl`; from `lab-ctl`, "
                "`peer` (behind `deny-ingress`) does not answer, though it answers itself. kind's "
                "kindnetd enforces NetworkPolicy; on AWS only the VPC CNI's policy agent does, else skipped",
            ),
        ),
        try_it="`kubectl -n lab-ctl get rs,deploy,ds,jobs,cronjobs,endpointslices`",
    ),
    Lab(
        "TLS",
        "TLS at the Ingress",
        "lab-tls",
        "manifests/base/tls",
        ("tls", "http"),
        "tests/live/test_tls.py",
        (f"{_PROBES_TESTS}/test_edge_decisions.py", "tests/unit/manifests/test_certs.py"),
        (
            Claim(
                "TLS-1",
                "web app (3 replicas, port 8080) behind a Service and an Ingress with spec.tls",
                verified="`web`: 3 ready replicas on 8080 behind a Service and an Ingress with `spec.tls` "
                "for the host",
            ),
            Claim(
                "TLS-2",
                "certificate is a kubernetes.io/tls Secret whose key is not in git",
                verified="`web-tls` is a `kubernetes.io/tls` Secret whose key matches its cert and appears "
                "in no tracked file or commit",
                needs_pods=False,
            ),
            Claim(
                "TLS-3",
                "HTTPS answers 200, the served SAN covers the host, HTTP redirects to HTTPS",
                verified="`curl -k https://<host>/` → 200; the served certificate's SAN covers the host; "
                "HTTP redirects to HTTPS",
                depends_on=("ADD-2",),
            ),
        ),
        try_it="`curl -k https://127-0-0-1.nip.io/` (local; with another `lab:httpsPort`, name it: "
        "`https://127-0-0-1.nip.io:8443/`); AWS: `https://<nlb-ip-with-dashes>.nip.io/` (`ingress_host` in "
        "`.infra/aws/outputs.json`). `infra up` prints the URL",
    ),
    Lab(
        "STS",
        "Headless Service + StatefulSet",
        "lab-sts",
        "manifests/base/sts",
        ("sts", "dns"),
        "tests/live/test_sts.py",
        (f"{_PROBES_TESTS}/test_workload_decisions.py", f"{_PROBES_TESTS}/test_dns_mysql_http.py"),
        (
            Claim(
                "STS-1",
                "ClusterIP Service resolves to one address, headless to one per pod",
                verified="ClusterIP Service resolves to one address; the headless Service to one per pod",
                depends_on=("dns",),
            ),
            Claim(
                "STS-2",
                "StatefulSet pods web-0..2, each resolvable as web-N.web-headless",
                verified="pods `web-0..2`, each `web-N.web-headless` resolves to its pod",
                depends_on=("dns",),
            ),
            Claim(
                "STS-3",
                "scaling is ordered: 3->4 creates -3; 4->2 deletes -3 then -2",
                verified="scaling 3→4 creates `-3`; 4→2 deletes `-3` then `-2`",
                needs_pods=False,
            ),
            Claim(
                "STS-4",
                "volumeClaimTemplates give each pod its own nfs-client PVC; PVC count == pod count",
                verified="one Bound RWO `nfs-client` PVC per pod",
                depends_on=("ADD-3",),
                needs_pods=False,
            ),
            Claim(
                "STS-5",
                "per-pod data is private and survives pod deletion; scale-down keeps PVCs",
                verified="a file in `web-1` is invisible in `web-0`, survives deleting `web-1`; scale-down "
                "keeps the PVCs",
                depends_on=("ADD-3",),
            ),
        ),
        try_it="`kubectl -n lab-sts exec web-1 -- ls /data`",
    ),
    Lab(
        "SQL",
        "Replicated MySQL",
        "lab-mysql",  # the namespace keeps its name: renaming it would recreate a running lab's data
        "manifests/base/sql",
        ("sql", "sts", "dns"),
        "tests/live/test_sql.py",
        (f"{_PROBES_TESTS}/test_dns_mysql_http.py", "tests/unit/manifests/test_mysql_scripts.py"),
        (
            Claim(
                "SQL-1",
                "headless mysql + ClusterIP mysql-read; ConfigMap with primary and replica configs",
                verified="headless `mysql` (one record per pod), `mysql-read` (one ClusterIP); "
                "primary/replica configs",
                depends_on=("ADD-3", "dns"),
            ),
            Claim(
                "SQL-2",
                "mysql-0 is the read-write primary; its writes appear on mysql-1 and mysql-2",
                verified="writes on `mysql-0` appear on `mysql-1` and `mysql-2`",
                depends_on=("ADD-3", "dns"),
            ),
            Claim(
                "SQL-3",
                "a write on a replica fails with ERROR 1290 (--super-read-only)",
                verified="a write on a replica fails with ERROR 1290 `--super-read-only`",
                depends_on=("ADD-3", "dns"),
            ),
            Claim(
                "SQL-4",
                "a new replica clones the data at once; data on NFS PVCs survives pod deletion",
                verified="a new replica clones the data and answers at once; data survives pod deletion",
                depends_on=("ADD-3", "dns"),
            ),
            Claim(
                "SQL-5",
                "credentials come from a Secret; no empty root password",
                verified="root password from Secret `mysql-credentials`, never empty; login without it fails",
                depends_on=("ADD-3", "dns"),
            ),
        ),
        try_it="`kubectl -n lab-mysql exec -it mysql-0 -c mysql -- sh -c 'mysql -uroot "
        '-p"$MYSQL_ROOT_PASSWORD"\'`',
    ),
    Lab(
        "QOS",
        "Requests, limits and QoS",
        "lab-qos",
        "manifests/base/qos",
        ("qos",),
        "tests/live/test_qos.py",
        (f"{_PROBES_TESTS}/test_workload_decisions.py",),
        (
            Claim(
                "QOS-1",
                "Guaranteed, Burstable and BestEffort pods get their QoS class",
                verified="Guaranteed / Burstable / BestEffort pods have those classes",
                needs_pods=False,
            ),
            Claim(
                "QOS-2",
                "a pod requesting more than any node's allocatable stays Pending (Insufficient)",
                verified="a pod asking more than any node has stays Pending with `Insufficient cpu`/`memory`",
                needs_pods=False,
            ),
        ),
        try_it="`kubectl -n lab-qos get pods -o custom-columns=NAME:.metadata.name,QOS:.status.qosClass`",
    ),
    Lab(
        "HPA",
        "HPA",
        "lab-hpa",
        "manifests/base/hpa",
        ("hpa",),
        "tests/live/test_hpa.py",
        (
            f"{_PROBES_TESTS}/test_hpa_scale_out.py",
            f"{_PROBES_TESTS}/test_workload_decisions.py",
            "tests/unit/checks/test_rules.py",
        ),
        (
            Claim(
                "HPA-1",
                "Deployment requests 200m CPU; autoscaling/v2 HPA 50% CPU, min 1, max 10, full target ref",
                verified="Deployment requests 200m CPU; `autoscaling/v2` HPA on 50 % CPU, 1..10, full "
                "`scaleTargetRef`",
                needs_pods=False,
            ),
            Claim(
                "HPA-2",
                "the HPA's current metric is known within a bounded time",
                verified="the HPA's CPU metric is known within 120 s",
                depends_on=("ADD-1",),
            ),
            Claim(
                "HPA-3",
                "under load the replicas rise per the HPA formula, never above max; they fall back after",
                verified="under load replicas rise within 120 s, as ceil(current × utilization / target), "
                "never above 10; scale-in (slow)",
                depends_on=("ADD-1",),
            ),
            Claim(
                "HPA-4",
                "missing scaleTargetRef.apiVersion and missing CPU request are caught before apply",
                verified="`infra check` catches a `scaleTargetRef` without apiVersion and a target without a "
                "CPU request",
                needs_pods=False,
            ),
        ),
        try_it="`kubectl -n lab-hpa get hpa hpa-demo -w`",
    ),
    Lab(
        "NLB",
        "NLB in IP mode",
        "lab-nlb",
        "manifests/components/nlb",
        ("nlb", "spread"),
        "tests/live/test_nlb.py",
        (f"{_PROBES_TESTS}/test_edge_decisions.py",),
        (
            Claim(
                "NLB-1",
                "echo LoadBalancer Service in NLB IP mode, internet-facing, gets a DNS name",
                _AWS,
                verified="`echo` LoadBalancer Service in NLB IP mode, internet-facing, gets a DNS name",
                depends_on=("ADD-4",),
            ),
            Claim(
                "NLB-2",
                "NLB targets are exactly the pod IPs; scaling drains and registers targets",
                _AWS,
                verified="target group targets are exactly the pod IPs, following scale down and up",
                depends_on=("ADD-4",),
            ),
            Claim(
                "NLB-3",
                "100 requests through the NLB reach every pod",
                _AWS,
                verified="100 requests through the NLB reach every pod",
                depends_on=("ADD-4",),
            ),
        ),
        try_it="`curl http://$(kubectl -n lab-nlb get svc echo -o "
        "jsonpath='{.status.loadBalancer.ingress[0].hostname}')/`",
    ),
    Lab(
        "GIT",
        "GitOps reconcile",
        None,
        None,  # it reconciles every lab's manifests (manifests/envs/<env>)
        (),
        "tests/live/test_git.py",
        ("tests/unit/gitops",),
        (
            Claim(
                "GIT-1",
                "after a reconcile, the manifests diff against the cluster is empty",
                verified="after a reconcile, the drift is empty",
                needs_pods=False,
            ),
            Claim(
                "GIT-2",
                "a hand edit or deletion is reported as drift and undone by the next reconcile",
                verified="a hand edit or deletion is reported as drift and undone by the next reconcile",
                needs_pods=False,
            ),
            Claim(
                "GIT-3",
                "objects removed from git are pruned; only toolkit-labelled objects are ever pruned",
                verified="objects gone from git are pruned; unlabelled objects never are",
                needs_pods=False,
            ),
            Claim(
                "GIT-4",
                "the HPA-scaled Deployment has no spec.replicas in git; reconcile never fights the HPA",
                verified="the HPA's Deployment has no `spec.replicas` in git; reconcile keeps the live count",
                needs_pods=False,
            ),
        ),
    ),
)

LAB_BY_PREFIX: dict[str, Lab] = {lab.prefix: lab for lab in LABS}
CLAIMS: tuple[Claim, ...] = tuple(claim for lab in LABS for claim in lab.claims)
BY_ID: dict[str, Claim] = {claim.id: claim for claim in CLAIMS}
ORDER: dict[str, int] = {claim.id: index for index, claim in enumerate(CLAIMS)}
CATALOG = "docs/labs.md"

_TEST_NAME = re.compile(r"^test_([a-z]+)_(\d+)_")


def lab_of(claim_id: str) -> Lab:
    """The lab a known claim ID belongs to."""
    return LAB_BY_PREFIX[BY_ID[claim_id].area]


def claim_id_of(test_name: str) -> str | None:
    """``test_sts_3_scaling_is_ordered[x]`` -> ``STS-3``; None for a name that follows no known claim."""
    match = _TEST_NAME.match(test_name)
    if not match:
        return None
    claim_id = f"{match.group(1).upper()}-{match.group(2)}"
    return claim_id if claim_id in BY_ID else None


def normalise_ids(raw_ids: list[str] | tuple[str, ...]) -> list[str]:
    """User-typed IDs (``sts-3``, ``STS-3``, ``STS-3,SQL-1``) -> known IDs in registry order.

    An unknown ID is a user's mistake: :class:`InfraError` listing the known areas.
    """
    wanted: set[str] = set()
    for raw in raw_ids:
        for part in raw.split(","):
            claim_id = part.strip().upper()
            if not claim_id:
                continue
            if claim_id not in BY_ID:
                areas = ", ".join(sorted(LAB_BY_PREFIX))
                raise InfraError(
                    f"unknown claim ID '{part.strip()}'",
                    f"use IDs from {CATALOG} such as STS-3 (areas: {areas}); see tests/live/README.md",
                )
            wanted.add(claim_id)
    return sorted(wanted, key=ORDER.__getitem__)


# --- the catalog, rendered -------------------------------------------------------------------------------


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ")


def _code(items: Iterable[str]) -> str:
    return ", ".join(f"`{item}`" for item in items) or "—"


def _depends(claim: Claim) -> str:
    return ", ".join(d if d in BY_ID else f"{d} (prerequisite)" for d in claim.depends_on) or "—"


def readme_lab_table() -> str:
    """The README's table of the labs that run in a namespace: title, IDs, namespace, how to look at it."""
    rows = ["| lab | namespace | open it |", "| --- | --- | --- |"]
    for lab in LABS:
        if lab.namespace is None:
            continue
        where = "" if lab.environments == ALL_ENVIRONMENTS else ", " + "/".join(lab.environments).upper()
        rows.append(f"| {lab.title} ({lab.id_range}{where}) | `{lab.namespace}` | {_cell(lab.try_it)} |")
    return "\n".join(rows) + "\n"


_INTRO = (
    "Every lab makes claims about a running cluster; each claim has a stable ID (`STS-3`).",
    "`infra verify` proves them with one live test per claim in `tests/live`, named after the ID",
    "(`test_sts_3_...`); `infra verify --only STS-3` runs some of them. Each live test gathers",
    "evidence; the decision is a plain function in `infra/probes`, tested offline on recorded outputs.",
    "",
    "*Depends on* names the claims (or prerequisites) that must hold before a claim can be proved.",
    "*Needs* says whether its probe needs real pods (exec, logs or HTTP into running containers) or",
    "only the control plane (object state, scheduling, controllers).",
)


def markdown() -> str:
    """``docs/labs.md``: every lab and its parts; every claim, what it depends on, how it is proved."""
    out = [
        "# The labs and their claims",
        "",
        f"<!-- Generated from infra/labs.py: `python -m infra.labs --markdown > {CATALOG}`. Do not edit. -->",
        "",
        *_INTRO,
        "",
        "## Labs",
        "",
        "| prefix | lab | namespace | manifests | probes (`infra/probes`) | live tests | offline tests |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for lab in LABS:
        out.append(
            f"| {lab.prefix} | {lab.title} | {_code([lab.namespace] if lab.namespace else [])} "
            f"| {_code([lab.manifests] if lab.manifests else [])} | {_code(f'{p}.py' for p in lab.probes)} "
            f"| `{lab.live_tests}` | {_code(lab.offline_tests)} |"
        )
    out += ["", "Prerequisites that are not claims:", ""]
    out += [f"- `{name}`: {text}" for name, text in PREREQUISITES.items()]
    for lab in LABS:
        out += [
            "",
            f"## {lab.prefix}: {lab.title}",
            "",
            f"Live tests: `{lab.live_tests}`.",
            "",
            "| ID | claim | environments | depends on | needs | verified by |",
            "| --- | --- | --- | --- | --- | --- |",
        ]
        for claim in lab.claims:
            needs = "real pods" if claim.needs_pods else "control plane"
            out.append(
                f"| {claim.id} | {_cell(claim.title)} | {'/'.join(claim.environments)} | {_depends(claim)} "
                f"| {needs} | `{claim.test_prefix}*`: {_cell(claim.verified)} |"
            )
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m infra.labs", description=__doc__.split("\n", 1)[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--markdown", action="store_true", help=f"print the claim catalog ({CATALOG})")
    group.add_argument("--readme-table", action="store_true", help="print README.md's lab table")
    args = parser.parse_args(argv)
    sys.stdout.write(markdown() if args.markdown else readme_lab_table())
    return 0


if __name__ == "__main__":
    sys.exit(main())
