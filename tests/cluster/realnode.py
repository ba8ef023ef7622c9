"""One real Kubernetes node beside the tier's control plane: a kubelet on containerd that runs real pods.

Why: hollow nodes run no container, so every probe that execs, reads logs, serves HTTP or waits for a Job
cannot be decided on them. This node runs real Linux containers, so those probes meet a real kubelet.

Private to this run, so that two runs on one machine cannot clash and nothing is left behind:

- **its own network namespace**, held open by a ``sleep`` started with ``unshare --net``. containerd, the
  kubelet and kube-proxy run in it (``nsenter --net``), so the CNI bridge, the pods' veths, kube-proxy's
  and the kubelet's iptables chains, ``ip_forward`` and the conntrack settings all live there, never in the
  host's tables. A veth pair joins it to the host: host side ``.1``, node ``.2`` of a /24 of 10.0.0.0/8 that
  no route of this host touches, pods on the upper half of that /24 (a route on the host sends it to the
  node). When the namespace's last process ends, the kernel removes all of it, even after a crash.
- **its own containerd**: root, state, sockets, runc state and CNI configuration under the run directory.
- **its own cgroup parent** (``cgroupRoot``): pods' cgroups live under ``/realnode-<token>``, not
  ``/kubepods``.
- the API server binds 127.0.0.1 of the host: a ``socat`` relay on the veth's host address (and on the
  host's address, where the ``kubernetes`` Service points, for pods that call the API) forwards to it; the
  node's kubeconfigs name the server ``localhost`` for TLS, a name its certificate holds.

What cannot be made private, and is undone on exit: the kernel settings the kubelet writes at start
(``vm.overcommit_memory``, ``kernel.panic`` ...: restored), the pods' network namespace mounts in
``/run/netns`` (the ones our sandboxes used), libcni's result cache entries of our network, the kubelet's
``/var/log/containers`` links into our directory, its device-plugin socket (its path is fixed).

Shape: node ``realnode-0``, labelled ``infra.test/real-node=true`` and tainted with the same key
(NoSchedule), so only pods that ask for it (:func:`pinned`) land there and the hollow nodes' tests do not
change. Requires root, the node binaries in ``KUBEBUILDER_ASSETS`` (``kubelet``, ``kube-proxy``, ``pause``)
and Debian's ``containerd``, ``runc``, ``containernetworking-plugins``, ``conntrack``, ``socat``,
``iptables`` and ``busybox-static``. Settings this kind of machine needs: cgroup v1 (``failCgroupV1:
false``, ``cgroupDriver: cgroupfs``), and root without CAP_SYS_RESOURCE (containerd
``restrict_oom_score_adj``, kubelet ``oomScoreAdj: 0``).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ipaddress
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import images
import requests
import yaml
from plane import (
    Component,
    ControlPlane,
    PlaneError,
    advertise_address,
    node_is_ready,
    signals_deferred,
    wait_for,
)

NODE_NAME = "realnode-0"
REAL_NODE_KEY = "infra.test/real-node"
KUBELET_PORT = 10250  # inside the node's own network namespace: no clash with anyone's
KUBELET_HEALTHZ_PORT = 10248
PROXY_HEALTHZ_PORT = 10256
CNI_DIR = Path("/usr/lib/cni")
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")
NODE_BINARIES = ("kubelet", "kube-proxy", "pause")
# command -> the Debian package that brings it
COMMANDS = {
    "containerd": "containerd",
    "containerd-shim-runc-v2": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "socat": "socat",
    "ip": "iproute2",
    "nsenter": "util-linux",
    "unshare": "util-linux",
}
PACKAGES = "containerd runc iptables containernetworking-plugins conntrack socat busybox-static"
HOW_TO_GET_PACKAGES = (
    f"as root on Debian/Ubuntu: `make test-cluster-deps` (apt-get install {PACKAGES}); the node binaries "
    "kubelet, kube-proxy and pause come from the same Kubernetes build as the plane's (KUBEBUILDER_ASSETS)"
)
# Kernel settings the kubelet writes at start when protectKernelDefaults is off (its "kernel tunables").
KERNEL_TUNABLES = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
CGROUP_ROOT = Path("/sys/fs/cgroup")
LOG_LINKS = Path("/var/log/containers")  # fixed in the kubelet: symlinks to each container's log
DEVICE_PLUGINS = Path("/var/lib/kubelet/device-plugins")  # fixed in the kubelet
CNI_CACHE = Path("/var/lib/cni")  # libcni's result cache, as containerd's CRI plugin uses it
NETNS_DIR = Path("/run/netns")
SERVICE_PROXY_NAME = "localhost"  # a name in the API server's serving certificate, for the relayed address


class RealNodeError(PlaneError):
    """The real node cannot start here (what is missing), or did not come up."""


# --- what the machine must have ---------------------------------------------------------------------------


def missing_prerequisites(assets: Path, *, euid: int | None = None) -> list[str]:
    """Everything this machine lacks for a real node, in words a user can act on; [] when it has it all."""
    missing = []
    if (os.geteuid() if euid is None else euid) != 0:
        missing.append("root (a node makes network namespaces, mounts and cgroups)")
    missing += [
        f"{name} in KUBEBUILDER_ASSETS" for name in NODE_BINARIES if not os.access(assets / name, os.X_OK)
    ]
    for command, package in COMMANDS.items():
        if shutil.which(command) is None:
            missing.append(f"{command} (Debian package {package})")
    for plugin in CNI_PLUGINS:
        if not os.access(CNI_DIR / plugin, os.X_OK):
            missing.append(f"{CNI_DIR / plugin} (Debian package containernetworking-plugins)")
    missing += images.missing_inputs(assets)
    if not CGROUP_ROOT.is_dir():
        missing.append(f"{CGROUP_ROOT} (cgroups)")
    return list(dict.fromkeys(missing))


# --- addresses --------------------------------------------------------------------------------------------


def used_networks(route_text: str) -> list[ipaddress.IPv4Network]:
    """Every IPv4 destination of ``ip -4 route show table all`` output (``default`` excluded)."""
    networks = []
    for line in route_text.splitlines():
        words = line.split()
        if words and words[0] in ("local", "broadcast", "unicast", "multicast"):
            words = words[1:]
        if not words or words[0] == "default":
            continue
        with contextlib.suppress(ValueError):
            networks.append(ipaddress.ip_network(words[0], strict=False))
    return [n for n in networks if isinstance(n, ipaddress.IPv4Network)]


# Taken by the plane (pod and Service ranges) or commonly by others (Docker's 10.0/16 ... 10.88 podman):
RESERVED = [ipaddress.ip_network(n) for n in ("10.0.0.0/14", "10.88.0.0/16", "10.96.0.0/12", "10.244.0.0/16")]


def choose_block(
    taken: list[ipaddress.IPv4Network], rng: random.Random | None = None
) -> ipaddress.IPv4Network:
    """A /24 of 10.0.0.0/8 that overlaps no route here nor the reserved ranges (random: runs rarely meet)."""
    rng = rng or random.Random()  # noqa: S311 - spreading runs apart, not a secret
    avoid = [*taken, *RESERVED]
    for _ in range(1000):
        block = ipaddress.ip_network(f"10.{rng.randrange(256)}.{rng.randrange(256)}.0/24")
        if not any(block.overlaps(other) for other in avoid):
            return block
    raise RealNodeError("no free /24 in 10.0.0.0/8 for the real node", "this host routes all of 10.0.0.0/8")


@dataclass(frozen=True)
class Addresses:
    """The node's addresses in its /24: the veth pair's two ends and the pods' half."""

    block: ipaddress.IPv4Network

    @property
    def host(self) -> str:
        return str(self.block[1])

    @property
    def node(self) -> str:
        return str(self.block[2])

    @property
    def pods(self) -> str:
        return str(list(self.block.subnets(new_prefix=25))[1])


# --- configuration documents ------------------------------------------------------------------------------


def containerd_config(home: Path, cni_conf_dir: Path) -> str:
    """containerd 1.6 (version 2 config): everything under ``home``, CRI with runc and our CNI directory."""
    return f"""version = 2
root = "{home}/root"
state = "{home}/state"
oom_score = 0
[grpc]
  address = "{home}/containerd.sock"
[ttrpc]
  address = "{home}/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "{home}/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "{images.PAUSE_IMAGE}"
  # root here lacks CAP_SYS_RESOURCE: never ask runc for an oom_score_adj below containerd's own
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "{home}/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "{CNI_DIR}"
    conf_dir = "{cni_conf_dir}"
    max_conf_num = 1
"""


def cni_conflist(network: str, bridge: str, subnet: str, ipam_dir: Path) -> dict[str, Any]:
    """Bridge + host-local on our subnet (masquerade out of it) + portmap for hostPort."""
    return {
        "cniVersion": "1.0.0",
        "name": network,
        "plugins": [
            {
                "type": "bridge",
                "bridge": bridge,
                "isGateway": True,
                "ipMasq": True,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "dataDir": str(ipam_dir),
                    "ranges": [[{"subnet": subnet}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                },
            },
            {"type": "portmap", "capabilities": {"portMappings": True}},
        ],
    }


def kubelet_config(
    *, socket: Path, node_ip: str, ca: Path, cgroup_root: str, pod_logs: Path
) -> dict[str, Any]:
    return {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "failCgroupV1": False,  # cgroup v1 host; kubelet >= 1.35 refuses v1 otherwise
        "cgroupDriver": "cgroupfs",  # PID 1 is not systemd
        "cgroupRoot": cgroup_root,
        "containerRuntimeEndpoint": f"unix://{socket}",
        "address": node_ip,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": node_ip,
        "healthzPort": KUBELET_HEALTHZ_PORT,
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True},
            "x509": {"clientCAFile": str(ca)},
        },
        "authorization": {"mode": "Webhook"},  # the API server's own client may exec, logs, port-forward
        "clusterDomain": "cluster.local",
        "resolvConf": "/etc/resolv.conf",
        "podLogsDir": str(pod_logs),
        "oomScoreAdj": 0,  # lowering it needs CAP_SYS_RESOURCE, which root lacks here
        "failSwapOn": False,
        "maxPods": 110,
        "registerWithTaints": [{"key": REAL_NODE_KEY, "value": "true", "effect": "NoSchedule"}],
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "2%", "imagefs.available": "2%"},
        "imageGCHighThresholdPercent": 100,  # never collect our imported images: there is no registry
        "imageGCLowThresholdPercent": 99,
        "nodeStatusUpdateFrequency": "2s",
        "syncFrequency": "5s",  # how soon a ConfigMap change reaches a mounted file (default 1 min)
        "configMapAndSecretChangeDetectionStrategy": "Watch",
    }


def kube_proxy_config(*, kubeconfig: Path, pod_cidr: str, node_ip: str) -> dict[str, Any]:
    return {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "mode": "iptables",  # no IPVS in these kernels; nftables mode needs a newer nft than Debian 12's
        "clientConnection": {"kubeconfig": str(kubeconfig)},
        "hostnameOverride": NODE_NAME,
        "clusterCIDR": pod_cidr,
        "bindAddress": node_ip,
        "healthzBindAddress": f"{node_ip}:{PROXY_HEALTHZ_PORT}",
        "metricsBindAddress": "127.0.0.1:10249",
        # 0: leave the kernel's conntrack table size and timeouts as they are (host-wide settings)
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
    }


def relayed_kubeconfig(source: Path, server: str) -> str:
    """``source`` pointed at ``server`` (our relay), TLS still checking the name ``localhost``."""
    document = yaml.safe_load(source.read_text())
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = server
        cluster["cluster"]["tls-server-name"] = SERVICE_PROXY_NAME
    return yaml.safe_dump(document, sort_keys=False)


def pinned(pod_spec: dict[str, Any]) -> dict[str, Any]:
    """``pod_spec`` with what puts it on the real node: its hostname selector and the taint's toleration."""
    return {
        **pod_spec,
        "nodeSelector": {**(pod_spec.get("nodeSelector") or {}), "kubernetes.io/hostname": NODE_NAME},
        "tolerations": [
            *(pod_spec.get("tolerations") or []),
            {"key": REAL_NODE_KEY, "operator": "Exists", "effect": "NoSchedule"},
        ],
    }


# --- host state -------------------------------------------------------------------------------------------


def read_tunables() -> dict[str, str]:
    values = {}
    for name in KERNEL_TUNABLES:
        with contextlib.suppress(OSError):
            values[name] = (Path("/proc/sys") / name).read_text().strip()
    return values


def ruleset_text(saved: str) -> str:
    """iptables-save output without its comments (a timestamp) and packet counters: the rules only."""
    lines = [re.sub(r" \[\d+:\d+\]$", "", line) for line in saved.splitlines() if not line.startswith("#")]
    return "\n".join(lines)


def host_snapshot() -> dict[str, Any]:
    """What a run must leave as it found it: interfaces, mounts, routes, ip_forward, the netfilter ruleset."""

    def run(*argv: str) -> str:
        try:
            return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False).stdout
        except OSError:
            return ""

    return {
        "interfaces": sorted(os.listdir("/sys/class/net")),
        "mounts": sorted(line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()),
        "routes": run("ip", "-4", "route", "show", "table", "all"),
        "ip_forward": Path("/proc/sys/net/ipv4/ip_forward").read_text().strip(),
        "ruleset": ruleset_text(run("iptables-save") + run("ip6tables-save")),
        "tunables": read_tunables(),
    }


def snapshot_differences(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What changed between two :func:`host_snapshot` results, one line each (others' runs show too)."""
    out = []
    for key in before:
        if before[key] == after.get(key):
            continue
        if isinstance(before[key], list):
            added = sorted(set(after[key]) - set(before[key]))
            gone = sorted(set(before[key]) - set(after[key]))
            out.append(f"{key}: added {added}, gone {gone}")
        else:
            out.append(f"{key} changed")
    return out


# --- the node ---------------------------------------------------------------------------------------------


class RealNode:
    """A real node joined to ``plane``; ``start()`` then ``close()`` (which undoes every host change)."""

    def __init__(self, plane: ControlPlane, *, timeout: float = 90.0) -> None:
        self.plane = plane
        self.assets = plane.assets
        self.timeout = timeout
        self.name = NODE_NAME
        self.token = secrets.token_hex(3)
        self.dir = Path(tempfile.mkdtemp(prefix="real-node-"))
        self.logs = self.dir / "logs"
        self.ctrd = self.dir / "containerd"
        self.socket = self.ctrd / "containerd.sock"
        self.network = f"realnode-{self.token}"
        self.bridge = f"rnb{self.token}"
        self.veth_host = f"rnh{self.token}"
        self.veth_node = f"rnn{self.token}"
        self.cgroup_name = f"realnode-{self.token}"
        self.addresses: Addresses | None = None
        self.components: dict[str, Component] = {}
        self.timings: dict[str, float] = {}
        self.ready_seconds: float | None = None
        self._began = time.monotonic()
        self._tunables = read_tunables()
        self._existed = {p: p.exists() for p in (LOG_LINKS, DEVICE_PLUGINS, DEVICE_PLUGINS.parent, CNI_CACHE)}
        self._pod_netns: set[Path] = set()
        self._closed = False

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> RealNode:
        missing = missing_prerequisites(self.assets)
        if missing:
            raise RealNodeError(f"no real node here: missing {', '.join(missing)}", HOW_TO_GET_PACKAGES)
        self._began = time.monotonic()
        # Images are built and imported while the kubelet registers: a node is Ready without them.
        with concurrent.futures.ThreadPoolExecutor(1) as background:
            try:
                self._network()
                self._relays()
                self._containerd()
                imported = background.submit(self._import_images)
                self._kubelet()
                self._wait("node Ready", self._ready)
                self._kube_proxy()
                imported.result()
            except BaseException:
                background.shutdown(wait=True, cancel_futures=True)
                self.close(keep=True)
                raise
        self.ready_seconds = time.monotonic() - self._began
        return self

    def close(self, keep: bool = False) -> list[str]:
        """Stop everything, undo every host change; returns traces of this run still found (should be [])."""
        if self._closed:
            return []
        with signals_deferred():
            self._closed = True
            self._drain()
            for name in ("kube-proxy", "kubelet"):
                self._stop(name)
            self._remember_pod_netns()
            self._remove_containers()
            self._stop("containerd")
            self._stop_shims()
            self._unmount()
            for name in ("relay-host", "relay-node", "netns"):
                self._stop(name)
            # The kernel frees a namespace asynchronously after its last process: delete our end now (its
            # peer, our routes and the namespace's interfaces go with it).
            _run(["ip", "link", "delete", self.veth_host], check=False)
            self._remove_cgroups()
            self._remove_host_files()
            self._restore_tunables()
            traces = self.traces()
            if not keep and not traces:
                shutil.rmtree(self.dir, ignore_errors=True)
            return traces

    # -- start-up steps -------------------------------------------------------------------------------------

    def _network(self) -> None:
        routes = _run(["ip", "-4", "route", "show", "table", "all"]).stdout
        self.addresses = addresses = Addresses(choose_block(used_networks(routes)))
        holder = self._launch("netns", ["unshare", "--net", "--", "sleep", "infinity"], in_netns=False)
        own = os.readlink("/proc/self/ns/net")
        self._wait("network namespace", lambda: _netns_of(holder) not in (None, own))
        pid = str(holder.process.pid)  # type: ignore[union-attr]
        _run(
            [
                "ip",
                "link",
                "add",
                self.veth_host,
                "type",
                "veth",
                "peer",
                "name",
                self.veth_node,
                "netns",
                pid,
            ]
        )
        _run(["ip", "addr", "add", f"{addresses.host}/30", "dev", self.veth_host])
        _run(["ip", "link", "set", self.veth_host, "up"])
        inside = self._nsenter()
        _run([*inside, "ip", "link", "set", "lo", "up"])
        _run([*inside, "ip", "addr", "add", f"{addresses.node}/30", "dev", self.veth_node])
        _run([*inside, "ip", "link", "set", self.veth_node, "up"])
        _run([*inside, "ip", "route", "add", "default", "via", addresses.host])
        # Settings of the node's own namespace: routing for the pods, bridged traffic through iptables
        # (a pod calling a Service whose backend shares the bridge).
        for setting in ("net.ipv4.ip_forward=1", "net.bridge.bridge-nf-call-iptables=1"):
            _run([*inside, "sysctl", "-q", "-w", setting], check=False)
        _run(["ip", "route", "add", addresses.pods, "via", addresses.node, "dev", self.veth_host])
        self.timings["network"] = self._since()

    def _relays(self) -> None:
        """socat from the veth's host end (and the host's address, for the ``kubernetes`` Service)."""
        assert self.addresses is not None
        port = self.plane.api_port
        target = f"TCP:127.0.0.1:{port}"
        self._launch(
            "relay-node",
            ["socat", f"TCP-LISTEN:{port},bind={self.addresses.host},fork,reuseaddr", target],
            in_netns=False,
        )
        address = advertise_address()
        if address:
            self._launch(
                "relay-host",
                ["socat", f"TCP-LISTEN:{port},bind={address},fork,reuseaddr", target],
                in_netns=False,
            )

    def _containerd(self) -> None:
        conf_dir = self.dir / "cni" / "net.d"
        conf_dir.mkdir(parents=True)
        self.ctrd.mkdir(parents=True, exist_ok=True)
        (self.ctrd / "config.toml").write_text(containerd_config(self.ctrd, conf_dir))
        assert self.addresses is not None
        conflist = cni_conflist(self.network, self.bridge, self.addresses.pods, self.dir / "cni" / "ipam")
        (conf_dir / "10-realnode.conflist").write_text(json.dumps(conflist, indent=2))
        self._launch("containerd", ["containerd", "--config", str(self.ctrd / "config.toml")])
        self._wait("containerd", lambda: self._ctr("version", check=False).returncode == 0)

    def _import_images(self) -> None:
        directory = self.dir / "images"
        directory.mkdir()
        for archive in images.build_all(self.assets, directory):
            self._ctr("images", "import", str(archive), timeout=120)
            archive.unlink()
        self.timings["images"] = self._since()

    def _kubelet(self) -> None:
        assert self.addresses is not None
        home = self.dir / "kubelet"
        home.mkdir()
        cgroup_root = self._make_cgroups()
        config = kubelet_config(
            socket=self.socket,
            node_ip=self.addresses.node,
            ca=self.plane.ca,
            cgroup_root=cgroup_root,
            pod_logs=self.dir / "pod-logs",
        )
        (home / "config.yaml").write_text(yaml.safe_dump(config, sort_keys=False))
        kubeconfig = self._node_kubeconfig("kubelet", f"system:node:{self.name}", ["system:nodes"])
        self._launch("kubelet", self._kubelet_argv(home, kubeconfig))

    def _kubelet_argv(self, home: Path, kubeconfig: Path) -> list[str]:
        assert self.addresses is not None
        return [
            str(self.assets / "kubelet"),
            f"--config={home / 'config.yaml'}",
            f"--kubeconfig={kubeconfig}",
            f"--root-dir={home}",
            f"--cert-dir={home / 'pki'}",
            f"--hostname-override={self.name}",
            f"--node-ip={self.addresses.node}",
            f"--node-labels={REAL_NODE_KEY}=true",
            "--v=1",
        ]

    def _kube_proxy(self) -> None:
        assert self.addresses is not None
        kubeconfig = self._node_kubeconfig("kube-proxy", "system:kube-proxy", [])
        path = self.dir / "kube-proxy.yaml"
        config = kube_proxy_config(
            kubeconfig=kubeconfig, pod_cidr=self.addresses.pods, node_ip=self.addresses.node
        )
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        self._launch("kube-proxy", [str(self.assets / "kube-proxy"), f"--config={path}", "--v=1"])
        url = f"http://{self.addresses.node}:{PROXY_HEALTHZ_PORT}/healthz"
        self._wait("kube-proxy healthy", lambda: _http_ok(url))

    def _node_kubeconfig(self, name: str, user: str, groups: list[str]) -> Path:
        assert self.addresses is not None
        source = self.plane.user_kubeconfig(user, groups)
        path = self.dir / "pki" / f"{name}.kubeconfig"
        path.parent.mkdir(exist_ok=True)
        server = f"https://{self.addresses.host}:{self.plane.api_port}"
        path.write_text(relayed_kubeconfig(source, server))
        path.chmod(0o600)
        return path

    def _make_cgroups(self) -> str:
        for hierarchy in self._hierarchies():
            (hierarchy / self.cgroup_name).mkdir(exist_ok=True)
        return f"/{self.cgroup_name}"

    @staticmethod
    def _hierarchies() -> list[Path]:
        """The cgroup v1 controller hierarchies (the hybrid ``unified`` one is cgroup v2: not ours to use)."""
        return [
            p
            for p in sorted(CGROUP_ROOT.iterdir())
            if p.is_dir() and not p.is_symlink() and p.name != "unified"
        ]

    # -- faults ---------------------------------------------------------------------------------------------

    def stop_kubelet(self) -> None:
        """Stop the kubelet only (its pods keep running): the node stops reporting, as after a crash."""
        self.components["kubelet"].stop()

    def start_kubelet(self) -> None:
        """Start the kubelet again with the same configuration and wait until the node is Ready."""
        component = self.components["kubelet"]
        if component.running():
            raise RealNodeError("the kubelet is already running", "call stop_kubelet() first")
        component.start(self._env())
        self._wait("node Ready again", self._ready)

    # -- what tests use -------------------------------------------------------------------------------------

    @property
    def node_ip(self) -> str:
        assert self.addresses is not None
        return self.addresses.node

    def in_node(self, *argv: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Run a host command inside the node's network namespace: what a process on the node sees."""
        return _run([*self._nsenter(), *argv], check=False, timeout=timeout)

    def http_from_node(self, url: str, timeout: float = 5) -> str:
        """GET ``url`` from the node's network namespace (where kube-proxy's rules are); "" on failure."""
        code = (
            "import sys, urllib.request; "
            "print(urllib.request.urlopen(sys.argv[1], timeout=float(sys.argv[2])).read().decode())"
        )
        return self.in_node(sys.executable, "-c", code, url, str(timeout), timeout=timeout + 10).stdout

    def traces(self) -> list[str]:
        """What of this run is still on the host: interfaces, routes, mounts, cgroups, netns, processes."""
        found = []
        interfaces = [n for n in os.listdir("/sys/class/net") if self.token in n]
        found += [f"interface {n}" for n in interfaces]
        routes = _run(["ip", "-4", "route", "show", "table", "all"], check=False).stdout
        found += [f"route {line}" for line in routes.splitlines() if self.veth_host in line]
        mounts = Path("/proc/self/mounts").read_text().splitlines()
        found += [f"mount {line.split()[1]}" for line in mounts if str(self.dir) in line.split()[1]]
        found += [f"mount {p}" for p in self._pod_netns if str(p) in {line.split()[1] for line in mounts}]
        found += [f"netns {p}" for p in self._pod_netns if p.exists()]
        found += [
            f"cgroup {h / self.cgroup_name}" for h in self._hierarchies() if (h / self.cgroup_name).exists()
        ]
        found += [f"process {c.name}" for c in self.components.values() if c.running()]
        found += [f"process {pid} (containerd shim)" for pid in self._shim_pids()]
        changed = {k: v for k, v in read_tunables().items() if self._tunables.get(k) != v}
        found += [f"kernel setting {k}={v} (was {self._tunables.get(k)})" for k, v in changed.items()]
        return found

    # -- shutdown steps -------------------------------------------------------------------------------------

    def _drain(self) -> None:
        """Delete the node's pods while its kubelet runs (it tears their networks and mounts down)."""
        kubelet = self.components.get("kubelet")
        if kubelet is None or not kubelet.running():
            return
        with contextlib.suppress(PlaneError, subprocess.TimeoutExpired):
            self.plane.kubectl(
                "delete",
                "pods",
                "--all-namespaces",
                f"--field-selector=spec.nodeName={self.name}",
                "--grace-period=1",
                "--wait=true",
                "--timeout=40s",
                check=False,
                timeout=60,
            )
            self.plane.kubectl("delete", "node", self.name, "--wait=false", check=False)

    def _remember_pod_netns(self) -> None:
        """The /run/netns entries of our sandboxes, from containerd's records, to remove after."""
        if not self._containerd_running():
            return
        listed = self._ctr("containers", "ls", "-q", check=False).stdout.split()
        for container in listed:
            info = self._ctr("containers", "info", container, check=False)
            with contextlib.suppress(ValueError, KeyError, TypeError):
                spec = json.loads(info.stdout)["Spec"]
                for namespace in spec["linux"]["namespaces"]:
                    path = namespace.get("path", "")
                    if namespace.get("type") == "network" and path.startswith(
                        ("/var/run/netns/", "/run/netns/")
                    ):
                        self._pod_netns.add(NETNS_DIR / Path(path).name)

    def _remove_containers(self) -> None:
        if not self._containerd_running():
            return
        for task in self._ctr("tasks", "ls", "-q", check=False).stdout.split():
            self._ctr("tasks", "kill", "--signal", "SIGKILL", task, check=False)
        deadline = time.monotonic() + 10
        while self._ctr("tasks", "ls", "-q", check=False).stdout.split() and time.monotonic() < deadline:
            for task in self._ctr("tasks", "ls", "-q", check=False).stdout.split():
                self._ctr("tasks", "delete", "--force", task, check=False)
            time.sleep(0.3)
        for container in self._ctr("containers", "ls", "-q", check=False).stdout.split():
            self._ctr("containers", "delete", container, check=False)

    def _shim_pids(self) -> list[int]:
        """containerd shims of OUR containerd: their command line names its socket (nobody else's)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            if argv and argv[0].endswith(b"containerd-shim-runc-v2") and str(self.socket).encode() in argv:
                pids.append(int(entry.name))
        return pids

    def _stop_shims(self) -> None:
        for signum in (15, 9):
            for pid in self._shim_pids():
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signum)
            deadline = time.monotonic() + 3
            while self._shim_pids() and time.monotonic() < deadline:
                time.sleep(0.1)

    def _unmount(self) -> None:
        """Mounts under our directory (deepest first), and the pod network namespaces our sandboxes used."""
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        ours = [m for m in mounts if m.startswith(str(self.dir) + "/")]
        for mount in sorted(ours, key=len, reverse=True):
            _run(["umount", "-l", mount], check=False)
        for path in self._pod_netns:
            if str(path) in mounts:
                _run(["umount", "-l", str(path)], check=False)
            with contextlib.suppress(OSError):
                path.unlink()

    def _remove_cgroups(self) -> None:
        for hierarchy in self._hierarchies():
            top = hierarchy / self.cgroup_name
            if not top.is_dir():
                continue
            for directory in sorted(
                (p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True
            ):
                with contextlib.suppress(OSError):
                    directory.rmdir()
            with contextlib.suppress(OSError):
                top.rmdir()

    def _remove_host_files(self) -> None:
        """The kubelet's fixed-path leftovers and libcni's cache entries of our network."""
        if LOG_LINKS.is_dir():
            for link in LOG_LINKS.iterdir():
                if link.is_symlink() and os.readlink(link).startswith(str(self.dir) + "/"):
                    link.unlink()
        results = CNI_CACHE / "results"
        if results.is_dir():
            for entry in results.iterdir():
                if entry.name.startswith(self.network + "-"):
                    entry.unlink()
        socket_path = DEVICE_PLUGINS / "kubelet.sock"
        if not self._existed[DEVICE_PLUGINS] and socket_path.is_socket():
            with contextlib.suppress(OSError):
                socket_path.unlink()
        # Directories only when we made them and they are empty (another run may be using them).
        for path in (LOG_LINKS, results, CNI_CACHE, DEVICE_PLUGINS, DEVICE_PLUGINS.parent):
            if not self._existed.get(path, path == results and self._existed[CNI_CACHE]):
                with contextlib.suppress(OSError):
                    path.rmdir()

    def _restore_tunables(self) -> None:
        for name, value in self._tunables.items():
            path = Path("/proc/sys") / name
            with contextlib.suppress(OSError):
                if path.read_text().strip() != value:
                    path.write_text(value)

    # -- helpers --------------------------------------------------------------------------------------------

    def _nsenter(self) -> list[str]:
        holder = self.components["netns"]
        assert holder.process is not None
        return ["nsenter", f"--net=/proc/{holder.process.pid}/ns/net", "--"]

    def _launch(self, name: str, argv: list[str], *, in_netns: bool = True) -> Component:
        component = Component(
            name, [*self._nsenter(), *argv] if in_netns else argv, self.logs / f"{name}.log"
        )
        self.components[name] = component
        component.start(self._env())
        return component

    def _env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("KUBECONFIG")}
        tmp = self.dir / "tmp"
        tmp.mkdir(exist_ok=True)
        env["TMPDIR"] = str(tmp)
        return env

    def _stop(self, name: str) -> None:
        component = self.components.get(name)
        if component is not None:
            component.stop()

    def _ctr(self, *args: str, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
        return _run(
            ["ctr", "--address", str(self.socket), "--namespace", "k8s.io", *args],
            check=check,
            timeout=timeout,
        )

    def _containerd_running(self) -> bool:
        component = self.components.get("containerd")
        return component is not None and component.running() and self.socket.exists()

    def _ready(self) -> bool:
        try:
            return node_is_ready(self.plane.get(f"/api/v1/nodes/{self.name}"))
        except PlaneError:
            return False

    def _since(self) -> float:
        return round(time.monotonic() - self._began, 2)

    def _wait(self, what: str, ready: Callable[[], bool]) -> None:
        components = self.components.values()
        wait_for(what, ready, components, timeout=self.timeout, logs=self.logs, error=RealNodeError)
        self.timings[what] = self._since()


def _run(argv: list[str], *, check: bool = True, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise RealNodeError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()[-400:]}")
    return result


def _netns_of(component: Component) -> str | None:
    if component.process is None:
        return None
    try:
        return os.readlink(f"/proc/{component.process.pid}/ns/net")
    except OSError:
        return None


def _http_ok(url: str) -> bool:
    try:
        with requests.Session() as session:
            session.trust_env = False
            return session.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False
