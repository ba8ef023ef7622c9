"""NLB-1..3 (AWS): an echo Deployment behind an internet-facing NLB in IP mode."""

from __future__ import annotations

import urllib.request

import pytest

from infra import series as recorded
from infra.probes import nlb, spread
from infra.probes.eventually import eventually

NAMESPACE, NAME = "lab-nlb", "echo"
PROVISION_TIMEOUT = 600  # the controller creates the NLB, then its DNS name must resolve
TARGET_TIMEOUT = 300  # registration and health checks of a new pod IP take a few minutes
REQUESTS = 100


def _service(kube) -> dict:
    return kube.json(kube.core.read_namespaced_service(NAME, NAMESPACE))


def _selector(service: dict) -> str:
    return ",".join(f"{k}={v}" for k, v in service["spec"]["selector"].items())


@pytest.fixture(scope="module")
def hostname(kube, retry_on) -> str:
    def provisioned() -> str:
        name = nlb.load_balancer_hostname(_service(kube))
        assert name, f"Service {NAMESPACE}/{NAME} has no load balancer hostname yet"
        return name

    return eventually(provisioned, PROVISION_TIMEOUT, 10, "NLB DNS name on the Service", retry_on=retry_on)


@pytest.fixture(scope="module")
def target_group(kube, hostname):
    """(AwsApi, target group ARN) of the Service's NLB; the region comes from a node's providerID."""
    from infra.aws import AwsApi

    node = kube.json(kube.core.list_node().items)[0]
    region, _ = nlb.instance_of(node["spec"]["providerID"])
    api = AwsApi(region)
    balancer = api.find_load_balancer(hostname)
    groups = [g for g in api.target_groups(balancer.arn) if g.target_type == "ip"]
    assert groups, f"NLB {balancer.name} has no ip target group"
    return api, groups[0].arn


@pytest.mark.live
@pytest.mark.aws
def test_nlb_1_service_gets_nlb_dns_name(kube, hostname):
    """The Service asks for an internet-facing IP-mode NLB and got a DNS name."""
    issues = nlb.service_issues(_service(kube))
    assert not issues, "; ".join(issues)
    assert hostname.endswith(".amazonaws.com"), f"{hostname} is not an AWS load balancer name"


@pytest.mark.live
@pytest.mark.aws
@pytest.mark.parametrize("step", ["as-deployed", "scaled-down", "scaled-up"])
def test_nlb_2_targets_are_pod_ips(kube, target_group, step, undo, retry_on):
    """Registered targets are exactly the ready pod IPs, also after scaling down (drain) and up (register)."""
    from infra.aws import compare_targets

    api, arn = target_group
    replicas = kube.replicas("Deployment", NAMESPACE, NAME)
    wanted = replicas
    if step != "as-deployed":
        undo(
            lambda: kube.restore_replicas("Deployment", NAMESPACE, NAME, replicas),
            f"{NAME} back to {replicas}",
        )
        wanted = replicas - 1 if step == "scaled-down" else replicas + 1
        kube.scale("Deployment", NAMESPACE, NAME, wanted)
        kube.wait_ready_replicas("Deployment", NAMESPACE, NAME, wanted, TARGET_TIMEOUT)
    selector = _selector(_service(kube))

    def matches() -> None:
        pod_ips = [p["status"]["podIP"] for p in kube.ready_pods(NAMESPACE, selector)]
        # no pods and no targets would "match": the Service must select exactly the Deployment's pods
        assert len(pod_ips) == wanted, f"Service {NAME} selects {len(pod_ips)} ready pods, expected {wanted}"
        diff = compare_targets(api.targets(arn), pod_ips)
        assert diff.matches, diff.describe()

    eventually(matches, TARGET_TIMEOUT, 10, f"NLB targets == pod IPs ({step})", retry_on=retry_on)


@pytest.mark.live
@pytest.mark.aws
def test_nlb_3_requests_spread_across_pods(kube, hostname, retry_on):
    """100 requests through the NLB (a new connection each) are answered by every pod."""
    service = _service(kube)
    port = service["spec"]["ports"][0]["port"]
    url = f"http://{hostname}:{port}/"

    def spread_ok() -> None:
        pods = [p["metadata"]["name"] for p in kube.ready_pods(NAMESPACE, _selector(service))]
        bodies = []
        for _ in range(REQUESTS):
            with urllib.request.urlopen(url, timeout=10) as answer:
                bodies.append(answer.read().decode(errors="replace"))
        counts = spread.count_by_hostname(bodies)
        recorded.record("NLB-3", "requests", counts, expected=REQUESTS / max(1, len(pods)))
        spread.check_spread(counts, pods, REQUESTS)

    eventually(spread_ok, 300, 15, f"{REQUESTS} requests reach every pod", retry_on=(*retry_on, OSError))
