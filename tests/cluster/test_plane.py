"""Smoke tests of the control plane itself: each fails if the tier's promise to the other tests breaks.

The plane is shared by the session: each test leaves it as it found it (its own namespace, or undoing what
it changed; the API server restart test starts the server again whatever happens).
"""

from __future__ import annotations

import json
import stat
import textwrap
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.x509.oid import NameOID
from plane import CONTROL_PLANE_LABEL, ControlPlane

WAIT = "60s"  # kubectl wait's deadline: generous on a shared 2-core machine, seconds when healthy


def test_api_server_is_v1_36(plane: ControlPlane) -> None:
    version = json.loads(plane.kubectl("version", "-o", "json").stdout)
    assert version["serverVersion"]["gitVersion"].startswith("v1.36."), version["serverVersion"]


def test_admin_kubeconfig_is_private_with_context_cp(plane: ControlPlane) -> None:
    assert stat.S_IMODE(plane.kubeconfig.stat().st_mode) == 0o600
    config = yaml.safe_load(plane.kubeconfig.read_text())
    assert config["current-context"] == "cp"
    assert config["clusters"][0]["cluster"]["server"] == plane.server
    assert plane.kubectl("auth", "can-i", "*", "*").stdout.strip() == "yes"  # system:masters


def _certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def _names(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(attribute.value) for attribute in cert.subject.get_attributes_for_oid(oid)]


def test_certificates_name_who_the_api_server_expects(plane: ControlPlane) -> None:
    """Serving SANs cover the in-cluster names; CN is the user, O the groups (RBAC, the Node authorizer)."""
    serving = _certificate(plane.pki / "apiserver.crt")
    sans = serving.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert {str(ip) for ip in sans.get_values_for_type(x509.IPAddress)} == {"127.0.0.1", "10.96.0.1"}
    assert {"localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} <= set(
        sans.get_values_for_type(x509.DNSName)
    )
    admin = _certificate(plane.pki / "admin.crt")
    assert _names(admin, NameOID.ORGANIZATION_NAME) == ["system:masters"]
    for node in plane.node_names:
        cert = _certificate(plane.pki / f"{node}.crt")
        assert _names(cert, NameOID.COMMON_NAME) == [f"system:node:{node}"]
        assert _names(cert, NameOID.ORGANIZATION_NAME) == ["system:nodes"]


def test_nodes_are_ready_in_kinds_shape(plane: ControlPlane) -> None:
    if not plane.node_names:
        pytest.skip("no kubemark in KUBEBUILDER_ASSETS: no nodes")
    nodes = json.loads(plane.kubectl("get", "nodes", "-o", "json").stdout)["items"]
    assert sorted(n["metadata"]["name"] for n in nodes) == sorted(plane.node_names)
    for node in nodes:
        ready = [c["status"] for c in node["status"]["conditions"] if c["type"] == "Ready"]
        assert ready == ["True"], node["metadata"]["name"]
        assert not node["spec"].get("taints"), node["spec"].get("taints")
    control_planes = [n["metadata"]["name"] for n in nodes if CONTROL_PLANE_LABEL in n["metadata"]["labels"]]
    assert control_planes == [plane.node_names[0]]


def test_lab_classes_exist(plane: ControlPlane) -> None:
    classes = json.loads(plane.kubectl("get", "storageclass", "-o", "json").stdout)["items"]
    by_name = {c["metadata"]["name"]: c for c in classes}
    assert {"standard", "nfs-client"} <= by_name.keys()
    default = "storageclass.kubernetes.io/is-default-class"
    assert by_name["standard"]["metadata"]["annotations"][default] == "true"
    ingress = json.loads(plane.kubectl("get", "ingressclass", "nginx", "-o", "json").stdout)
    assert ingress["spec"]["controller"] == "k8s.io/ingress-nginx"


def test_deployment_gets_running_pods(plane: ControlPlane, namespace: str) -> None:
    if not (plane.node_names and plane.has["kube-controller-manager"] and plane.has["kube-scheduler"]):
        pytest.skip("needs kube-controller-manager, kube-scheduler and kubemark in KUBEBUILDER_ASSETS")
    ns = ("-n", namespace)
    plane.kubectl(*ns, "create", "deployment", "web", "--image=registry.k8s.io/pause:3.10", "--replicas=2")
    plane.kubectl(
        *ns, "wait", "deployment/web", "--for=jsonpath={.status.readyReplicas}=2", f"--timeout={WAIT}"
    )
    # Hollow kubelets report Ready about a second before phase Running.
    plane.kubectl(
        *ns, "wait", "pod", "-l", "app=web", "--for=jsonpath={.status.phase}=Running", f"--timeout={WAIT}"
    )
    pods = json.loads(plane.kubectl(*ns, "get", "pods", "-l", "app=web", "-o", "json").stdout)["items"]
    assert [p["status"]["phase"] for p in pods] == ["Running", "Running"]
    assert {p["spec"]["nodeName"] for p in pods} <= set(plane.node_names)


def test_pvc_of_nfs_client_binds(plane: ControlPlane, namespace: str) -> None:
    if not plane.has["kube-controller-manager"]:
        pytest.skip("needs kube-controller-manager in KUBEBUILDER_ASSETS (the host-path provisioner)")
    claim = textwrap.dedent("""\
        apiVersion: v1
        kind: PersistentVolumeClaim
        metadata: {name: data}
        spec:
          storageClassName: nfs-client
          accessModes: [ReadWriteMany]
          resources: {requests: {storage: 1Mi}}
        """)
    plane.kubectl("-n", namespace, "apply", "-f", "-", input=claim)
    plane.kubectl(
        "-n", namespace, "wait", "pvc/data", "--for=jsonpath={.status.phase}=Bound", f"--timeout={WAIT}"
    )
    volume = plane.kubectl("-n", namespace, "get", "pvc/data", "-o", "jsonpath={.spec.volumeName}").stdout
    pv = json.loads(plane.kubectl("get", "pv", volume, "-o", "json").stdout)
    assert pv["spec"]["storageClassName"] == "nfs-client"
    assert pv["spec"]["hostPath"]["path"]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("expired", "You must be logged in to the server (Unauthorized)"),
        ("wrong_ca", "You must be logged in to the server (Unauthorized)"),
        ("no_rbac", 'User "nobody" cannot list resource "pods" in API group "" in the namespace "default"'),
    ],
)
def test_bad_credentials_fail_with_kubectls_words(plane: ControlPlane, kind: str, expected: str) -> None:
    config = plane.user_kubeconfig("nobody", expired=kind == "expired", wrong_ca=kind == "wrong_ca")
    result = plane.kubectl("-n", "default", "get", "pods", kubeconfig=config, check=False)
    assert result.returncode != 0
    assert expected in result.stderr


def test_user_in_a_group_gets_that_groups_rights(plane: ControlPlane) -> None:
    """The positive twin of the RBAC failure: the same kind of certificate, in system:masters, is allowed."""
    config = plane.user_kubeconfig("alice", ["system:masters"])
    result = plane.kubectl("-n", "default", "get", "pods", kubeconfig=config, check=False)
    assert result.returncode == 0, result.stderr


def test_api_server_restarts_on_the_same_port_and_data(plane: ControlPlane) -> None:
    plane.kubectl("-n", "default", "create", "configmap", "survivor", "--from-literal=k=v")
    plane.stop_apiserver()
    try:
        down = plane.kubectl("get", "--raw", "/readyz", check=False, timeout=30)
        assert down.returncode != 0
        assert f"The connection to the server 127.0.0.1:{plane.api_port} was refused" in down.stderr
    finally:
        plane.start_apiserver()
    value = plane.kubectl("-n", "default", "get", "configmap", "survivor", "-o", "jsonpath={.data.k}").stdout
    assert value == "v"
    plane.kubectl("-n", "default", "delete", "configmap", "survivor")
