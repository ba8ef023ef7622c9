"""ADD-1..4: metrics-server, ingress-nginx, NFS dynamic provisioning, AWS Load Balancer Controller."""

from __future__ import annotations

import pytest

from infra.probes import http, metrics, nlb
from infra.probes.eventually import eventually

METRICS_APISERVICE = "v1beta1.metrics.k8s.io"
INGRESS_CONTROLLER = "app.kubernetes.io/name=ingress-nginx,app.kubernetes.io/component=controller"
NFS_CLASS = "nfs-client"
LBC_NAMESPACE, LBC_DEPLOYMENT = "kube-system", "aws-load-balancer-controller"


@pytest.mark.live
@pytest.mark.parametrize("what", ["apiservice", "top-nodes", "top-pods"])
def test_add_1_metrics_server_answers(kube, what, retry_on, prerequisite_installed):
    """The APIService is Available, and `kubectl top` prints numbers for nodes and pods."""
    prerequisite_installed()

    def probe() -> None:
        if what == "apiservice":
            service = kube.json(kube.apiregistration.read_api_service(METRICS_APISERVICE))
            available, detail = metrics.apiservice_available(service)
            assert available, f"{METRICS_APISERVICE} not Available: {detail}"
            return
        args = (
            ["top", "nodes", "--no-headers"] if what == "top-nodes" else ["top", "pods", "-A", "--no-headers"]
        )
        result = kube.kubectl(*args, ok_codes=(0, 1))
        assert result.ok, f"kubectl {' '.join(args)}: {result.stderr.strip()}"
        try:
            usages = metrics.parse_top(result.stdout, namespaced=what == "top-pods")
        except ValueError as error:
            raise AssertionError(str(error)) from None
        assert usages, f"kubectl {' '.join(args)} listed nothing"
        assert any(u.cpu_millicores > 0 or u.memory_bytes > 0 for u in usages), f"all usage is zero: {usages}"

    # metrics-server needs two scrapes (2 × 15 s) after start before `top` has numbers
    eventually(probe, 120, 5, f"metrics-server {what}", retry_on=retry_on)


@pytest.mark.live
@pytest.mark.parametrize("scheme", ["http", "https"])
def test_add_2_ingress_controller_answers(
    kube, curl, ingress_ports, scheme, retry_on, prerequisite_installed, request
):
    """The controller pods are Ready, and the ingress address answers (404 from the default backend).

    On the stack's ingress port for the scheme (kind: the host port, e.g. 8080/8443 under rootless Docker).
    """
    prerequisite_installed()
    ingress_address = request.getfixturevalue("ingress_address")  # after the check: it names the cause
    target = http.url(scheme, ingress_address, ingress_ports[scheme])

    def probe() -> None:
        pods = kube.json(kube.core.list_pod_for_all_namespaces(label_selector=INGRESS_CONTROLLER).items)
        assert pods, f"no ingress-nginx controller pod ({INGRESS_CONTROLLER})"
        not_ready = [p["metadata"]["name"] for p in pods if not kube.is_ready(p)]
        assert not not_ready, f"controller pods not Ready: {not_ready}"
        out = curl("--insecure", "-o", "/dev/null", "-w", http.WRITE_OUT, target)
        answer = http.parse_write_out(out or "000")
        assert answer.answered, f"nothing answers {target}"
        # No Ingress rule matches a bare address: the controller's default backend answers 404.
        assert answer.status == 404, f"{target} answered {answer.status}, expected 404"

    eventually(probe, 300, 5, f"ingress-nginx answering on {target}", retry_on=retry_on)


def _nfs_export(kube, outputs) -> tuple[str, str]:
    """Where the provisioner writes: its own NFS_SERVER/NFS_PATH, else the stack outputs."""
    for deployment in kube.json(kube.apps.list_deployment_for_all_namespaces().items):
        for container in deployment["spec"]["template"]["spec"]["containers"]:
            env = {e["name"]: e.get("value") for e in container.get("env") or []}
            if env.get("NFS_SERVER") and env.get("NFS_PATH"):
                return env["NFS_SERVER"], env["NFS_PATH"]
    assert outputs.get("nfs_server"), "no NFS provisioner (NFS_SERVER env) found and no nfs_server output"
    assert outputs.get("nfs_path"), "no NFS provisioner (NFS_PATH env) found and no nfs_path output"
    return outputs["nfs_server"], outputs["nfs_path"]


@pytest.mark.live
def test_add_3_nfs_provisioning(kube, outputs, token, undo, retry_on, prerequisite_installed):
    """A PVC of StorageClass nfs-client becomes Bound, and its directory appears on the NFS export."""
    prerequisite_installed()
    storage_class = kube.json(kube.storage.read_storage_class(NFS_CLASS))
    assert storage_class["provisioner"], f"StorageClass {NFS_CLASS} names no provisioner"
    namespace, claim = "default", f"infra-probe-{token}"
    kube.core.create_namespaced_persistent_volume_claim(
        namespace,
        {
            "metadata": {"name": claim, "labels": {"app.kubernetes.io/name": "infra-probe"}},
            "spec": {
                "accessModes": ["ReadWriteOnce"],
                "storageClassName": NFS_CLASS,
                "resources": {"requests": {"storage": "1Mi"}},
            },
        },
    )
    undo(lambda: kube.core.delete_namespaced_persistent_volume_claim(claim, namespace), f"delete PVC {claim}")

    def bound() -> str:
        pvc = kube.json(kube.core.read_namespaced_persistent_volume_claim(claim, namespace))
        assert pvc["status"].get("phase") == "Bound", f"PVC {claim} is {pvc['status'].get('phase')}"
        return pvc["spec"]["volumeName"]

    volume = eventually(bound, 120, 3, f"PVC {claim} Bound", retry_on=retry_on)
    server, path = _nfs_export(kube, outputs)
    reader = f"infra-probe-export-{token}"
    undo(lambda: kube.delete_pod(namespace, reader), f"delete pod {reader}")
    kube.run_pod(
        namespace,
        reader,
        ["sleep", "600"],
        volumes=[{"name": "export", "nfs": {"server": server, "path": path, "readOnly": True}}],
        mounts=[{"name": "export", "mountPath": "/export", "readOnly": True}],
    )
    # nfs-subdir-external-provisioner names the directory <namespace>-<pvc>-<pv>
    expected = f"{namespace}-{claim}-{volume}"

    def listed() -> None:
        result = kube.sh(reader, namespace, "ls -1 /export")
        assert result.rc == 0, f"ls on {server}:{path} failed: {result.stderr.strip()}"
        assert expected in result.stdout.split(), f"{expected} not on {server}:{path}"

    eventually(listed, 60, 3, f"directory {expected} on the export", retry_on=retry_on)


@pytest.mark.live
@pytest.mark.aws
@pytest.mark.parametrize("role", ["control-plane", "node"])
def test_add_4_load_balancer_controller(kube, role, retry_on, prerequisite_installed):
    """The controller is Available; its IAM policy is attached to the instance role of this node role."""
    prerequisite_installed()
    from infra.aws import AwsApi

    def available() -> None:
        deployment = kube.json(kube.apps.read_namespaced_deployment(LBC_DEPLOYMENT, LBC_NAMESPACE))
        status = deployment["status"]
        assert (status.get("availableReplicas") or 0) >= 1, f"{LBC_DEPLOYMENT}: {status}"

    eventually(available, 300, 5, f"{LBC_DEPLOYMENT} Available", retry_on=retry_on)
    nodes = kube.json(kube.core.list_node().items)
    control_plane = [n for n in nodes if "node-role.kubernetes.io/control-plane" in n["metadata"]["labels"]]
    chosen = control_plane if role == "control-plane" else [n for n in nodes if n not in control_plane]
    assert chosen, f"no {role} node"
    region, instance_id = nlb.instance_of(chosen[0]["spec"]["providerID"])
    api = AwsApi(region)
    reservations = api.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    profile_arn = reservations[0]["Instances"][0]["IamInstanceProfile"]["Arn"]
    profile = api.client("iam").get_instance_profile(InstanceProfileName=profile_arn.rsplit("/", 1)[-1])
    roles = [r["RoleName"] for r in profile["InstanceProfile"]["Roles"]]
    attached = [
        p
        for name in roles
        for p in api.client("iam").list_attached_role_policies(RoleName=name)["AttachedPolicies"]
    ]
    assert nlb.policy_attached(attached, "LoadBalancerController"), (
        f"no LoadBalancerController policy on {role} role(s) {roles}: {[p['PolicyName'] for p in attached]}"
    )
