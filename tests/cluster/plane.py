"""A throwaway Kubernetes control plane started from binaries, for the ``cluster`` test tier.

Why: the toolkit's live paths (reconcile, drift, prune, verify) talk to a real API server -- validation,
admission, server-side apply, RBAC, OpenAPI -- and a fake client cannot show whether they hold. This module
starts one without Docker or network: etcd and kube-apiserver always, plus kube-controller-manager,
kube-scheduler and kubemark hollow nodes when those binaries are there. Hollow nodes register a Node and
report scheduled pods Running, but run no container: no logs, exec, DNS, pod network or metrics.

Where the binaries come from: ``KUBEBUILDER_ASSETS``, the envtest convention (a directory holding ``etcd``,
``kube-apiserver``, here also ``kube-controller-manager``, ``kube-scheduler``, ``kubemark``, ``kubectl``).

Shape: kind's (``lab-control-plane`` labelled ``node-role.kubernetes.io/control-plane`` and
``ingress-ready=true``, ``lab-worker``, ``lab-worker2``; nothing tainted), StorageClasses ``standard``
(default, as kind's) and ``nfs-client`` with the in-tree host-path provisioner so PVCs bind, IngressClass
``nginx``. Everything listens on 127.0.0.1 on ports chosen at run time; certificates are generated at run
time; every process runs in its own process group and is stopped on exit, last started first.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import ctypes
import datetime as dt
import glob
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import requests
import urllib3
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from infra.errors import InfraError

ASSETS_ENV = "KUBEBUILDER_ASSETS"
REQUIRED_BINARIES = ("etcd", "kube-apiserver")
HOW_TO_GET_BINARIES = (
    f"set {ASSETS_ENV} to a directory holding etcd and kube-apiserver "
    f"(`export {ASSETS_ENV}=$(setup-envtest use -p path 1.36.x)` with controller-runtime's setup-envtest), "
    "plus kube-controller-manager and kube-scheduler from the Kubernetes server release and kubemark "
    "(`make WHAT=cmd/kubemark` in the Kubernetes tree) for controllers, scheduling and hollow nodes"
)
CONTEXT = "cp"
SERVICE_CIDR = "10.96.0.0/16"
SERVICE_IP = "10.96.0.1"  # the first address of SERVICE_CIDR: the `kubernetes` Service, a SAN of the server
CLUSTER_CIDR = "10.244.0.0/16"
CONTROL_PLANE_LABEL = "node-role.kubernetes.io/control-plane"
# Labels only an administrator may set: NodeRestriction forbids a kubelet to claim the node-role namespace,
# so they are patched in after registration. ingress-ready=true is where the local lab's kind config puts it.
CONTROL_PLANE_LABELS = {CONTROL_PLANE_LABEL: "", "ingress-ready": "true"}
# The in-tree host-path provisioner (kube-controller-manager --enable-hostpath-provisioner) binds PVCs of this
# provisioner by creating a directory per volume under HOSTPATH_PROVISIONER_DIR, on this machine.
HOSTPATH_PROVISIONER = "kubernetes.io/host-path"
HOSTPATH_PROVISIONER_DIR = Path("/tmp/hostpath_pv")
SERVING_DNS_NAMES = (
    "localhost",
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
STOP_GRACE_SECONDS = 5.0  # SIGTERM, then SIGKILL
POLL_SECONDS = 0.2
STALE_GUARDED = ("DaemonSet", "Job", "ReplicaSet", "StatefulSet")
PR_SET_PDEATHSIG = 1  # linux/prctl.h


class PlaneError(InfraError):
    """The control plane could not start, answer, or do what a test asked of it."""


# --- certificates -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CertFiles:
    """A PEM certificate and its private key (mode 0600) on disk."""

    cert: Path
    key: Path


def _write_private(path: Path, data: bytes) -> Path:
    """Write ``data`` readable by the owner only, from the first byte (no window at a wider mode)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, 0o600)  # an existing file keeps its mode through O_CREAT
    return path


def _new_key() -> ec.EllipticCurvePrivateKey:
    """ECDSA P-256: every component accepts it, and it is generated in microseconds (RSA takes ~100 ms)."""
    return ec.generate_private_key(ec.SECP256R1())


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _name(common_name: str, organizations: Sequence[str] = ()) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org) for org in organizations]
    return x509.Name([*attributes, x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def validity(expired: bool, now: dt.datetime | None = None) -> tuple[dt.datetime, dt.datetime]:
    """(not before, not after): a day of validity with an hour of skew allowed, or a window already over."""
    now = now or dt.datetime.now(dt.UTC)
    if expired:
        return now - dt.timedelta(days=2), now - dt.timedelta(days=1)
    return now - dt.timedelta(hours=1), now + dt.timedelta(days=1)


class CertificateAuthority:
    """One self-signed CA in ``directory`` (``NAME.crt``/``NAME.key``) that issues leaf certificates there."""

    def __init__(self, directory: Path, name: str, common_name: str) -> None:
        self.directory = directory
        self._key = _new_key()
        not_before, not_after = validity(expired=False)
        self._cert = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name))
            .issuer_name(_name(common_name))
            .public_key(self._key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(self._key.public_key()), critical=False)
            .sign(self._key, hashes.SHA256())
        )
        self.files = CertFiles(
            cert=_write_private(
                directory / f"{name}.crt", self._cert.public_bytes(serialization.Encoding.PEM)
            ),
            key=_write_private(directory / f"{name}.key", _key_pem(self._key)),
        )

    def issue(
        self,
        name: str,
        common_name: str,
        organizations: Sequence[str] = (),
        *,
        server: bool = False,
        dns_names: Iterable[str] = (),
        ip_addresses: Iterable[str] = (),
        expired: bool = False,
    ) -> CertFiles:
        """A client certificate (CN = user, O = groups, as the API server reads them) or a serving one."""
        key = _new_key()
        not_before, not_after = validity(expired)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = (
            x509.CertificateBuilder()
            .subject_name(_name(common_name, organizations))
            .issuer_name(self._cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(not_before)
            .not_valid_after(not_after)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), critical=False
            )
        )
        sans: list[x509.GeneralName] = [x509.DNSName(n) for n in dns_names]
        sans += [x509.IPAddress(ipaddress.ip_address(ip)) for ip in ip_addresses]
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self._key, hashes.SHA256())
        return CertFiles(
            cert=_write_private(
                self.directory / f"{name}.crt", cert.public_bytes(serialization.Encoding.PEM)
            ),
            key=_write_private(self.directory / f"{name}.key", _key_pem(key)),
        )


def write_service_account_keys(directory: Path) -> CertFiles:
    """The key pair that signs (private) and verifies (public) service-account tokens."""
    key = _new_key()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return CertFiles(
        cert=_write_private(directory / "sa.pub", public),
        key=_write_private(directory / "sa.key", _key_pem(key)),
    )


def kubeconfig_document(server: str, ca: Path, client: CertFiles, user: str, context: str = CONTEXT) -> str:
    """A kubeconfig with everything inline, so it stays valid wherever the file is copied."""

    def inline(path: Path) -> str:
        return base64.b64encode(path.read_bytes()).decode()

    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": context, "cluster": {"server": server, "certificate-authority-data": inline(ca)}}
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": inline(client.cert),
                    "client-key-data": inline(client.key),
                },
            }
        ],
        "contexts": [{"name": context, "context": {"cluster": context, "user": user}}],
        "current-context": context,
        "preferences": {},
    }
    return yaml.safe_dump(document, sort_keys=False)


# --- processes --------------------------------------------------------------------------------------------


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports the kernel just handed out (all held open until all are read)."""
    with contextlib.ExitStack() as stack:
        sockets = [
            stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) for _ in range(count)
        ]
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [sock.getsockname()[1] for sock in sockets]


def advertise_address() -> str | None:
    """This host's IPv4 toward its default route, or None without one.

    The API server refuses a loopback ``--advertise-address``; the address only lands in the ``kubernetes``
    Endpoints (the server still binds 127.0.0.1). Connecting a UDP socket sends no packet.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect(("192.0.2.1", 9))  # TEST-NET-1: any routable address picks the interface
        except OSError:
            return None
        address = sock.getsockname()[0]
    return None if ipaddress.ip_address(address).is_loopback else address


def _load_libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:  # pragma: no cover - not Linux
        return None


_LIBC = _load_libc()


def _die_with_parent() -> None:
    """In the child before exec: SIGKILL it when pytest dies, even by SIGKILL (no time to clean up)."""
    if _LIBC is not None and sys.platform.startswith("linux"):
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


@contextlib.contextmanager
def signals_deferred() -> Iterator[None]:
    """Hold Ctrl-C and SIGTERM until the block ends, so that a second Ctrl-C cannot cut a shutdown short."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


# kubemark writes outside any directory it is given: its hollow kubelet's root directory (logged) and the
# fake container runtime's socket both go to /tmp, and both outlive the process.
HOLLOW_ROOT_DIR = re.compile(r"Using (/tmp/hollow-kubelet\.[0-9]+) as root dir")
HOLLOW_SOCKETS = "/tmp/kubelet_remote_*.sock"


def hollow_root_dirs(log_text: str) -> set[Path]:
    return {Path(match) for match in HOLLOW_ROOT_DIR.findall(log_text)}


def hollow_sockets() -> set[Path]:
    return {Path(path) for path in glob.glob(HOLLOW_SOCKETS)}


def is_stale_socket(path: Path) -> bool:
    """True when nothing listens on Unix socket ``path`` any more (a live one belongs to someone else)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(1)
        try:
            sock.connect(str(path))
        except ConnectionRefusedError:
            return True
        except OSError:
            return False
    return False


@dataclass
class Component:
    """One process of the plane: how to start it, where it logs, and the running process."""

    name: str
    argv: list[str]
    log: Path
    process: subprocess.Popen[bytes] | None = None
    _log_handle: IO[bytes] | None = None

    def start(self, env: dict[str, str]) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log_handle,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,  # its own process group: Ctrl-C reaches pytest only, we stop it in order
            preexec_fn=_die_with_parent,  # before exec; the plane is started from one thread
        )

    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        """SIGTERM to its process group, SIGKILL after ``grace`` seconds; then sweep what is left of it."""
        process = self.process
        if process is not None:
            if process.poll() is None:
                self._signal(signal.SIGTERM)
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    self._signal(signal.SIGKILL)
                    process.wait(grace)
            self._signal(signal.SIGKILL)  # children that outlived their leader, if any
        if self._log_handle is not None:
            self._log_handle.close()
            self._log_handle = None

    def _signal(self, signum: int) -> None:
        assert self.process is not None
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signum)

    def tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# Planes still running; stopped at interpreter exit if nobody stopped them (a crash, an uncaught Ctrl-C).
_LIVE: list[ControlPlane] = []


def _stop_leftovers() -> None:
    for plane in list(_LIVE):
        plane.close(keep=True)


atexit.register(_stop_leftovers)


# --- the plane --------------------------------------------------------------------------------------------


def assets_from_env(environ: dict[str, str] | os._Environ[str] | None = None) -> Path | None:
    """``KUBEBUILDER_ASSETS`` as a path, or None when unset or empty."""
    value = (environ if environ is not None else os.environ).get(ASSETS_ENV, "").strip()
    return Path(value).expanduser() if value else None


def missing_binaries(assets: Path) -> list[str]:
    return [name for name in REQUIRED_BINARIES if not os.access(assets / name, os.X_OK)]


def kind_node_names(cluster: str, count: int) -> list[str]:
    """kind's names for 1 control plane + workers: ``lab-control-plane``, ``lab-worker``, ``lab-worker2``."""
    workers = [f"{cluster}-worker{i + 1 if i else ''}" for i in range(count - 1)]
    return [f"{cluster}-control-plane", *workers][:count]


def wait_for(
    what: str,
    ready: Callable[[], bool],
    components: Collection[Component],
    *,
    timeout: float,
    logs: Path,
    error: type[PlaneError] = PlaneError,
) -> None:
    """Poll ``ready`` until it holds; fail at once when one of ``components`` exits, or after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        for component in components:
            if not component.running():
                code = component.process.returncode if component.process else None
                raise error(
                    f"{component.name} exited with code {code} while waiting for {what}",
                    f"its log ({component.log}) ends with:\n{component.tail()}",
                )
        if ready():
            return
        if time.monotonic() > deadline:
            raise error(
                f"timed out after {timeout:.0f} s waiting for {what}", f"logs of each component in {logs}"
            )
        time.sleep(POLL_SECONDS)


def node_is_ready(node: dict[str, Any]) -> bool:
    conditions = (node.get("status") or {}).get("conditions") or []
    return any(c.get("type") == "Ready" and c.get("status") == "True" for c in conditions)


def storage_class(name: str, default: bool = False) -> dict[str, Any]:
    annotations = {"storageclass.kubernetes.io/is-default-class": "true"} if default else {}
    return {
        "apiVersion": "storage.k8s.io/v1",
        "kind": "StorageClass",
        "metadata": {"name": name, "annotations": annotations},
        "provisioner": HOSTPATH_PROVISIONER,
        "reclaimPolicy": "Delete",
        "volumeBindingMode": "Immediate",
    }


INGRESS_CLASS = {
    "apiVersion": "networking.k8s.io/v1",
    "kind": "IngressClass",
    "metadata": {"name": "nginx"},
    "spec": {"controller": "k8s.io/ingress-nginx"},
}


class ControlPlane:
    """A running control plane; use as a context manager (stops everything on exit, also on errors).

    ``kubeconfig`` (admin, context ``cp``, group system:masters), ``server``, ``ca``; ``kubectl(...)``;
    ``user_kubeconfig(...)`` for other identities; ``stop_apiserver()``/``start_apiserver()`` for faults.
    """

    def __init__(
        self,
        assets: Path | None = None,
        *,
        nodes: int = 3,
        cluster_name: str = "lab",
        timeout: float = 120.0,
        base_dir: Path | None = None,
    ) -> None:
        assets = assets or assets_from_env()
        if assets is None:
            raise PlaneError(f"{ASSETS_ENV} is not set", HOW_TO_GET_BINARIES)
        if not assets.is_dir():
            raise PlaneError(f"{ASSETS_ENV}={assets} is not a directory", HOW_TO_GET_BINARIES)
        missing = missing_binaries(assets)
        if missing:
            raise PlaneError(f"{ASSETS_ENV}={assets} lacks {', '.join(missing)}", HOW_TO_GET_BINARIES)
        if nodes < 1:
            raise PlaneError(f"nodes={nodes}: a plane needs at least one hollow node")
        self.assets = assets
        self.has = {
            name: os.access(assets / name, os.X_OK)
            for name in ("kube-controller-manager", "kube-scheduler", "kubemark")
        }
        self.node_names = kind_node_names(cluster_name, nodes) if self.has["kubemark"] else []
        self.timeout = timeout
        self.dir = Path(tempfile.mkdtemp(prefix="control-plane-", dir=base_dir))
        self.pki = self.dir / "pki"
        self.logs = self.dir / "logs"
        self.kubeconfig = self.dir / "kubeconfig"
        self.components: dict[str, Component] = {}
        self.ready_seconds: float | None = None
        self.timings: dict[str, float] = {}  # step -> seconds since start() began, for the report
        self._began = time.monotonic()
        self._closed = False
        self._rogue_ca: CertificateAuthority | None = None
        self._sockets_before: set[Path] | None = None
        ports = free_ports(5 + len(self.node_names))
        self.etcd_port, self.etcd_peer_port, self.api_port, self.kcm_port, self.scheduler_port = ports[:5]
        self.kubelet_ports = ports[5:]
        self.server = f"https://127.0.0.1:{self.api_port}"
        self._session = requests.Session()
        # Loopback only, with our own CA: REQUESTS_CA_BUNDLE or a proxy from the environment would override
        # the session's CA (a requests quirk) or route 127.0.0.1 through a proxy.
        self._session.trust_env = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.close(keep=exc_type is not None)

    def start(self) -> ControlPlane:
        """Start every component and wait until the plane is usable; on any failure stop what started."""
        if self.components or self._closed:
            raise PlaneError("this control plane was already started", "make a new ControlPlane")
        _LIVE.append(self)
        self._began = time.monotonic()
        try:
            self._write_pki()
            self._launch("etcd", self._etcd_argv())
            self._wait("etcd healthy", lambda: self._etcd_healthy())
            self._launch("kube-apiserver", self._apiserver_argv())
            # Hollow kubelets retry until the API server answers: starting them now overlaps their start-up
            # with its own. The controller manager and the scheduler exit instead when their first requests
            # are refused (RBAC's bootstrap roles come with /readyz), so they wait for it.
            self._sockets_before = hollow_sockets()
            for name, port in zip(self.node_names, self.kubelet_ports, strict=True):
                self._launch(name, self._hollow_node_argv(name, port))
            self._wait("kube-apiserver /readyz", lambda: self._status("/readyz") == 200)
            if self.has["kube-controller-manager"]:
                self._launch("kube-controller-manager", self._controller_manager_argv())
            if self.has["kube-scheduler"]:
                self._launch("kube-scheduler", self._scheduler_argv())
            self._wait_apiserver()
            self._create_defaults()
            if self.has["kube-controller-manager"]:
                self._wait("kube-controller-manager healthy", lambda: self._healthy(self.kcm_port))
                self._wait(
                    "service account default/default",
                    lambda: self.exists("/api/v1/namespaces/default/serviceaccounts/default"),
                )
            if self.has["kube-scheduler"]:
                self._wait("kube-scheduler healthy", lambda: self._healthy(self.scheduler_port))
            if self.node_names:
                self._wait(f"{len(self.node_names)} nodes Ready", self._nodes_ready)
                self._label_control_plane(self.node_names[0])
        except BaseException:
            self.close(keep=True)
            raise
        self.ready_seconds = time.monotonic() - self._began
        return self

    def close(self, keep: bool = False) -> Path | None:
        """Stop every process, one at a time, last started first; keep the run directory when ``keep``.

        Last started first: an API server whose etcd is gone ignores SIGTERM for a long while.
        Returns the directory when it was kept.
        """
        if self._closed:
            return None
        with signals_deferred():
            self._closed = True
            volumes = self._hostpath_volumes()
            for component in reversed(list(self.components.values())):
                component.stop()
            self._remove_hollow_leftovers()
            for path in volumes:
                shutil.rmtree(path, ignore_errors=True)
            with contextlib.suppress(OSError):  # only when empty: another plane may be using it
                HOSTPATH_PROVISIONER_DIR.rmdir()
            self._session.close()
            with contextlib.suppress(ValueError):
                _LIVE.remove(self)
            if keep:
                print(f"control plane: logs and data kept in {self.dir}", file=sys.stderr)
                return self.dir
            shutil.rmtree(self.dir, ignore_errors=True)
            return None

    def _hostpath_volumes(self) -> list[Path]:
        """Directories the host-path provisioner made on this machine for the PVs still in the cluster."""
        apiserver = self.components.get("kube-apiserver")
        if apiserver is None or not apiserver.running():
            return []
        response = self._request("GET", "/api/v1/persistentvolumes")
        if response is None or response.status_code != 200:
            return []
        volumes = response.json().get("items", [])
        paths = [((pv.get("spec") or {}).get("hostPath") or {}).get("path") for pv in volumes]
        return [Path(path) for path in paths if path and Path(path).parent == HOSTPATH_PROVISIONER_DIR]

    def _remove_hollow_leftovers(self) -> None:
        """Remove what the stopped hollow nodes left in /tmp: their root directories and runtime sockets.

        A socket is ours when it appeared after the nodes were launched and nothing listens on it any more.
        """
        for name in self.node_names:
            component = self.components.get(name)
            if component is not None and component.log.is_file():
                for directory in hollow_root_dirs(component.log.read_text(errors="replace")):
                    shutil.rmtree(directory, ignore_errors=True)
        if self._sockets_before is not None:
            for path in hollow_sockets() - self._sockets_before:
                if is_stale_socket(path):
                    with contextlib.suppress(OSError):
                        path.unlink()

    def stop_apiserver(self, grace: float = 1.0) -> None:
        """Stop the API server only (etcd and its data stay): the cluster becomes unreachable.

        A fault, not a clean shutdown: while clients hold watches it drains them for longer than any test
        wants to wait, so it gets SIGKILL after ``grace`` seconds of SIGTERM.
        """
        self.components["kube-apiserver"].stop(grace)

    def start_apiserver(self) -> None:
        """Start the API server again, on the same port and data, and wait until it serves again."""
        component = self.components["kube-apiserver"]
        if component.running():
            raise PlaneError("kube-apiserver is already running", "call stop_apiserver() first")
        component.start(self._env())
        self._wait_apiserver()

    # -- what tests use -------------------------------------------------------------------------------------

    @property
    def ca(self) -> Path:
        return self.pki / "ca.crt"

    @property
    def kubectl_binary(self) -> Path:
        for candidate in (self.assets / "kubectl", Path(sys.executable).parent / "kubectl"):
            if os.access(candidate, os.X_OK):
                return candidate
        raise PlaneError(
            f"no kubectl in {self.assets} nor beside {sys.executable}", "add kubectl to KUBEBUILDER_ASSETS"
        )

    def kubectl(
        self,
        *args: str,
        kubeconfig: Path | None = None,
        input: str | None = None,  # subprocess's own name for stdin text
        check: bool = True,
        timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run kubectl against this plane (admin unless ``kubeconfig``); ``check``: raise on failure."""
        argv = [str(self.kubectl_binary), "--kubeconfig", str(kubeconfig or self.kubeconfig), *args]
        result = subprocess.run(
            argv, input=input, capture_output=True, text=True, timeout=timeout, check=False
        )
        if check and result.returncode != 0:
            raise PlaneError(
                f"kubectl {' '.join(args)} exited {result.returncode}: {result.stderr.strip()[-500:]}"
            )
        return result

    def env_state(self, state: Path, env: str = "local", ingress_host: str = "127-0-0-1.nip.io") -> Path:
        """``state/<env>/`` as ``infra up`` leaves it for this plane: its kubeconfig (0600) and outputs.json.

        Point ``INFRA_STATE_DIR`` at ``state`` and the toolkit's commands act on this plane as the
        environment's own cluster.
        """
        own = state / env
        own.mkdir(parents=True, exist_ok=True)
        _write_private(own / "kubeconfig", self.kubeconfig.read_bytes())
        (own / "outputs.json").write_text(json.dumps({"context": CONTEXT, "ingress_host": ingress_host}))
        return own

    def user_kubeconfig(
        self,
        user: str,
        groups: Sequence[str] = (),
        *,
        expired: bool = False,
        wrong_ca: bool = False,
    ) -> Path:
        """A kubeconfig for ``user`` (certificate CN) in ``groups`` (O), for fault and RBAC tests.

        ``expired``: the certificate's validity ended yesterday. ``wrong_ca``: it is signed by a CA the API
        server does not trust. Both make the server answer 401 Unauthorized.
        """
        directory = self.dir / "users"
        if wrong_ca and self._rogue_ca is None:
            self._rogue_ca = CertificateAuthority(directory, "rogue-ca", "not-the-cluster-ca")
        issuer = self._rogue_ca if wrong_ca else self._ca
        stem = f"{user.replace(':', '_')}{'-expired' if expired else ''}{'-wrong-ca' if wrong_ca else ''}"
        client = issuer.issue(stem, user, groups, expired=expired)
        text = kubeconfig_document(self.server, self.ca, client, user)
        return _write_private(directory / f"{stem}.kubeconfig", text.encode())

    def get(self, path: str) -> dict[str, Any]:
        """GET an API path as the admin and return its JSON (PlaneError on any non-200)."""
        response = self._request("GET", path)
        if response is None or response.status_code != 200:
            code = "no answer" if response is None else f"{response.status_code}: {response.text[:300]}"
            raise PlaneError(f"GET {path}: {code}")
        return response.json()

    # -- start-up steps -------------------------------------------------------------------------------------

    def _write_pki(self) -> None:
        self._ca = CertificateAuthority(self.pki, "ca", "control-plane-ca")
        ca = self._ca
        self._certs = {
            "apiserver": ca.issue(
                "apiserver",
                "kube-apiserver",
                server=True,
                dns_names=SERVING_DNS_NAMES,
                ip_addresses=("127.0.0.1", SERVICE_IP),
            ),
            "admin": ca.issue("admin", "cp-admin", ["system:masters"]),
            "apiserver-kubelet-client": ca.issue(
                "apiserver-kubelet-client", "kube-apiserver-kubelet-client", ["system:masters"]
            ),
            "controller-manager": ca.issue("controller-manager", "system:kube-controller-manager"),
            "scheduler": ca.issue("scheduler", "system:kube-scheduler"),
        }
        for name in self.node_names:
            self._certs[name] = ca.issue(name, f"system:node:{name}", ["system:nodes"])
        # The front proxy (requestheader) CA, as kubeadm sets it up: aggregated APIs authenticate the server.
        front = CertificateAuthority(self.pki, "front-proxy-ca", "front-proxy-ca")
        self._certs["front-proxy-client"] = front.issue("front-proxy-client", "front-proxy-client")
        self._front_proxy_ca = front.files.cert
        self._sa = write_service_account_keys(self.pki)
        self._session.cert = (str(self._certs["admin"].cert), str(self._certs["admin"].key))
        self._session.verify = str(self.ca)
        _write_private(
            self.kubeconfig,
            kubeconfig_document(self.server, self.ca, self._certs["admin"], "cp-admin").encode(),
        )

    def _component_kubeconfig(self, name: str) -> Path:
        text = kubeconfig_document(self.server, self.ca, self._certs[name], name)
        return _write_private(self.pki / f"{name}.kubeconfig", text.encode())

    def _etcd_argv(self) -> list[str]:
        client = f"http://127.0.0.1:{self.etcd_port}"
        peer = f"http://127.0.0.1:{self.etcd_peer_port}"
        return [
            str(self.assets / "etcd"),
            "--name=cp",
            f"--data-dir={self.dir / 'etcd'}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=cp={peer}",
            "--initial-cluster-state=new",
            "--unsafe-no-fsync",  # a throwaway store: durability buys nothing and costs seconds
            "--log-level=warn",
        ]

    def _apiserver_argv(self) -> list[str]:
        address = advertise_address()
        advertise = (
            [f"--advertise-address={address}"]
            if address
            else ["--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none"]
        )
        certs = self._certs
        return [
            str(self.assets / "kube-apiserver"),
            f"--etcd-servers=http://127.0.0.1:{self.etcd_port}",
            "--bind-address=127.0.0.1",
            *advertise,
            f"--secure-port={self.api_port}",
            f"--tls-cert-file={certs['apiserver'].cert}",
            f"--tls-private-key-file={certs['apiserver'].key}",
            f"--client-ca-file={self.ca}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={self._sa.cert}",
            f"--service-account-signing-key-file={self._sa.key}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--allow-privileged=true",
            f"--kubelet-client-certificate={certs['apiserver-kubelet-client'].cert}",
            f"--kubelet-client-key={certs['apiserver-kubelet-client'].key}",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            f"--requestheader-client-ca-file={self._front_proxy_ca}",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-username-headers=X-Remote-User",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            f"--proxy-client-cert-file={certs['front-proxy-client'].cert}",
            f"--proxy-client-key-file={certs['front-proxy-client'].key}",
            "--profiling=false",
            "--v=1",
        ]

    def _controller_manager_argv(self) -> list[str]:
        kubeconfig = self._component_kubeconfig("controller-manager")
        return [
            str(self.assets / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.kcm_port}",
            "--controllers=*",
            "--enable-hostpath-provisioner",
            f"--service-account-private-key-file={self._sa.key}",
            f"--root-ca-file={self.ca}",
            "--use-service-account-credentials",
            # Shorter than a real cluster's, so the tier waits less: a silent kubelet is NotReady after 30 s
            # instead of 50 s (nodes renew their lease every 10 s), an HPA is evaluated every 5 s, not 15 s.
            "--node-monitor-grace-period=30s",
            "--horizontal-pod-autoscaler-sync-period=5s",
            # 1.36's stale-cache guard (KEP-5647) makes these controllers wait, with a growing back-off, until
            # their informers show their own last write; on two busy cores that wait reached minutes (CTL-1's
            # replacement pod late). The labs' clusters run 1.35, which has no such guard: behave like them.
            "--feature-gates=" + ",".join(f"StaleControllerConsistency{c}=false" for c in STALE_GUARDED),
            f"--cluster-signing-cert-file={self.ca}",
            f"--cluster-signing-key-file={self._ca.files.key}",
            f"--service-cluster-ip-range={SERVICE_CIDR}",
            f"--cluster-cidr={CLUSTER_CIDR}",
            "--allocate-node-cidrs",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]

    def _scheduler_argv(self) -> list[str]:
        kubeconfig = self._component_kubeconfig("scheduler")
        return [
            str(self.assets / "kube-scheduler"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={self.scheduler_port}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]

    def _hollow_node_argv(self, name: str, port: int) -> list[str]:
        return [
            str(self.assets / "kubemark"),
            "--morph=kubelet",
            f"--name={name}",
            f"--kubeconfig={self._component_kubeconfig(name)}",
            f"--kubelet-port={port}",
            "--kubelet-read-only-port=0",
            "--use-host-image-service=false",
            "--max-pods=110",
            "--v=1",
        ]

    def _env(self) -> dict[str, str]:
        """The caller's environment without KUBECONFIG (each component has its own), TMPDIR in the run dir.

        kubemark ignores TMPDIR for its root directory and socket: _remove_hollow_leftovers handles those.
        """
        tmp = self.dir / "tmp"
        tmp.mkdir(exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBECONFIG")}
        env["TMPDIR"] = str(tmp)
        return env

    def _launch(self, name: str, argv: list[str]) -> None:
        component = Component(name, argv, self.logs / f"{name}.log")
        self.components[name] = component
        component.start(self._env())

    def _wait_apiserver(self) -> None:
        self._wait("kube-apiserver /readyz", lambda: self._status("/readyz") == 200)
        # /openapi/v2 answers 503 for a few seconds after /readyz; kubectl apply validates against it.
        self._wait("kube-apiserver /openapi/v2", lambda: self._status("/openapi/v2") == 200)

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        wait_for(what, ready, self.components.values(), timeout=self.timeout, logs=self.logs)
        self.timings[what] = round(time.monotonic() - self._began, 2)

    def _request(self, method: str, path: str, **kwargs: Any) -> requests.Response | None:
        try:
            return self._session.request(method, self.server + path, timeout=10, **kwargs)
        except requests.RequestException:
            return None

    def _status(self, path: str) -> int | None:
        response = self._request("GET", path, stream=True)  # /openapi/v2 is megabytes: read the status only
        if response is None:
            return None
        response.close()
        return response.status_code

    def exists(self, path: str) -> bool:
        """Whether GET ``path`` answers 200 (as the admin)."""
        return self._status(path) == 200

    def _etcd_healthy(self) -> bool:
        try:
            response = self._session.get(f"http://127.0.0.1:{self.etcd_port}/health", timeout=2)
        except requests.RequestException:
            return False
        return response.status_code == 200 and response.json().get("health") == "true"

    def _healthy(self, port: int) -> bool:
        """/healthz of a component's own serving port (self-signed certificate, anonymous access allowed)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            try:
                url = f"https://127.0.0.1:{port}/healthz"
                response = self._session.get(url, timeout=2, verify=False)
            except requests.RequestException:
                return False
        return response.status_code == 200

    def _nodes_ready(self) -> bool:
        response = self._request("GET", "/api/v1/nodes")
        if response is None or response.status_code != 200:
            return False
        ready = {n["metadata"]["name"] for n in response.json().get("items", []) if node_is_ready(n)}
        return ready >= set(self.node_names)

    def _create(self, path: str, body: dict[str, Any]) -> None:
        response = self._request("POST", path, json=body)
        if response is None or response.status_code not in (201, 409):
            code = "no answer" if response is None else f"{response.status_code}: {response.text[:300]}"
            raise PlaneError(f"creating {body['kind']} {body['metadata']['name']}: {code}")

    def _create_defaults(self) -> None:
        classes = "/apis/storage.k8s.io/v1/storageclasses"
        self._create(classes, storage_class("standard", default=True))
        self._create(classes, storage_class("nfs-client"))
        self._create("/apis/networking.k8s.io/v1/ingressclasses", INGRESS_CLASS)

    def _label_control_plane(self, node: str) -> None:
        response = self._request(
            "PATCH",
            f"/api/v1/nodes/{node}",
            json={"metadata": {"labels": CONTROL_PLANE_LABELS}},
            headers={"Content-Type": "application/merge-patch+json"},
        )
        if response is None or response.status_code != 200:
            code = "no answer" if response is None else f"{response.status_code}: {response.text[:300]}"
            raise PlaneError(f"labelling node {node} as the control plane: {code}")
