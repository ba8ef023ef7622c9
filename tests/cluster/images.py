"""Container images for the real node, built on this machine: no registry, no Docker.

Why: the tier has no network to pull from. Each image here is a single-layer OCI archive made from a root
filesystem directory and imported into the node's containerd (``ctr -n k8s.io images import``) under the
exact name and tag the lab manifests use, so a manifest's ``image:`` resolves without a pull
(``imagePullPolicy: IfNotPresent``, the default for a tag that is not ``latest``).

What each one is made of:

- ``registry.k8s.io/pause:3.10.1`` (the sandbox image and the QoS lab's pods): the static ``pause`` binary of
  the Kubernetes build in ``KUBEBUILDER_ASSETS``.
- ``busybox:1.37.0`` (shells, Jobs, ``httpd``, ``nc``, ``wget``): Debian's ``busybox-static``. The tag is
  the manifests'; the binary inside is whatever version Debian ships (1.35 on bookworm). Probes use only
  applets both versions have.
- ``traefik/whoami:v1.11.0``: a STAND-IN, busybox ``httpd`` on ``--port`` (default 80) answering ``/`` with
  whoami's first line ``Hostname: <pod name>`` plus the request line, and ``/health`` with 200. That covers
  the labs' use (which pod answered; readiness). A probe that needs any other whoami output (its headers
  echo, ``/api``, ``/data``) needs the real image: :data:`STAND_INS` says so.
- ``nginx:1.30.5-alpine``: a STAND-IN, busybox ``httpd`` on port 80 serving a default page from
  ``/usr/share/nginx/html``, with ``/bin/sh`` (the StatefulSet lab's probes write and read files under
  ``/data`` through it; the DaemonSet lab only needs its pods to run). nginx's proxying (the NLB
  proxy-protocol patch) needs the real image.
- ``registry.k8s.io/e2e-test-images/resource-consumer:1.13``: ``resource-consumer`` and ``consume-cpu``
  built from ``test/images/resource-consumer`` of the same Kubernetes tree (in ``KUBEBUILDER_ASSETS``), laid
  out as the upstream image does (``/consumer``, ``/consume-cpu/consume-cpu``). Its HPA claims still need
  metrics-server.

:data:`NOT_HERE` lists the lab images that cannot be had on this machine, and what needs them.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PAUSE_IMAGE = "registry.k8s.io/pause:3.10.1"
BUSYBOX_IMAGE = "busybox:1.37.0"
WHOAMI_IMAGE = "traefik/whoami:v1.11.0"
NGINX_IMAGE = "nginx:1.30.5-alpine"
RESOURCE_CONSUMER_IMAGE = "registry.k8s.io/e2e-test-images/resource-consumer:1.13"
BUSYBOX_BINARY = Path("/bin/busybox")  # Debian busybox-static: one static binary, every applet
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

# Images the manifests name that are only stood in for: the stand-in does part of what the image does.
STAND_INS = {
    WHOAMI_IMAGE: "a busybox httpd stand-in: only `Hostname: <pod>`, the request line and /health; "
    "whoami's header echo, /api and /data need the real image (a full cluster)",
    NGINX_IMAGE: "a busybox httpd stand-in on port 80 serving nginx's default page and /bin/sh: what the "
    "StatefulSet and DaemonSet labs use; nginx's proxying and configuration need the real image",
}
# Lab images that cannot be built here (no registry, no Debian package): their claims need a full cluster.
NOT_HERE = {
    "mysql:8.0.46": "MySQL 8 server (SQL lab: replication, backups)",
    "percona/percona-xtrabackup:8.0.35-36.1": "XtraBackup (SQL lab: clone and backup init containers)",
    "registry.k8s.io/ingress-nginx/controller": "ingress-nginx (every claim reached through the Ingress)",
    "registry.k8s.io/metrics-server/metrics-server": "metrics-server (HPA scaling, kubectl top)",
    "registry.k8s.io/coredns/coredns": "CoreDNS (any claim that resolves a Service or pod by name)",
}


def needs_full_cluster(image: str) -> str | None:
    """Why ``image`` cannot run on the tier's real node (the claim needs a full cluster), or None."""
    for name, what in NOT_HERE.items():
        if image == name or image.startswith(name + ":") or image.startswith(name + "@"):
            return f"{image} cannot be built here ({what}): needs a full cluster (kind or AWS)"
    return None


# --- OCI archives -----------------------------------------------------------------------------------------


def _digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _normalised(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Owned by root, no timestamps: the same tree always gives the same layer digest."""
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    info.mtime = 0
    return info


def layer_of(rootfs: Path) -> bytes:
    """The uncompressed tar of ``rootfs``'s contents, paths relative to its root."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for entry in sorted(os.listdir(rootfs)):
            tar.add(rootfs / entry, arcname=entry, filter=_normalised)
    return buffer.getvalue()


def image_config(
    diff_id: str, *, entrypoint: list[str] | None, cmd: list[str] | None, user: str = ""
) -> dict[str, Any]:
    """The OCI image configuration: what the runtime starts, as whom, with which PATH."""
    config: dict[str, Any] = {"Env": [PATH_ENV], "WorkingDir": "/"}
    if entrypoint:
        config["Entrypoint"] = entrypoint
    if cmd:
        config["Cmd"] = cmd
    if user:
        config["User"] = user
    return {
        "created": "1970-01-01T00:00:00Z",
        "architecture": "amd64",
        "os": "linux",
        "config": config,
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }


def write_archive(
    rootfs: Path,
    name: str,
    out: Path,
    *,
    entrypoint: list[str] | None = None,
    cmd: list[str] | None = None,
    user: str = "",
) -> Path:
    """An OCI image layout tar of one layer; ``ctr images import`` names it from the index annotation."""
    raw = layer_of(rootfs)
    layer = gzip.compress(raw, compresslevel=1, mtime=0)  # fast: the archive never leaves this host
    config = json.dumps(
        image_config(_digest(raw), entrypoint=entrypoint, cmd=cmd, user=user), separators=(",", ":")
    ).encode()
    manifest = json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.oci.image.config.v1+json",
                "digest": _digest(config),
                "size": len(config),
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                    "digest": _digest(layer),
                    "size": len(layer),
                }
            ],
        },
        separators=(",", ":"),
    ).encode()
    index = {
        "schemaVersion": 2,
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": _digest(manifest),
                "size": len(manifest),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": normalised_name(name)},
            }
        ],
    }
    with tarfile.open(out, "w") as tar:

        def add(path: str, data: bytes) -> None:
            info = tarfile.TarInfo(path)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))

        add("oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        add("index.json", json.dumps(index).encode())
        for blob in (layer, config, manifest):
            add("blobs/sha256/" + _digest(blob).removeprefix("sha256:"), blob)
    return out


def normalised_name(image: str) -> str:
    """The name the CRI looks up for an ``image:``: ``busybox:1`` is ``docker.io/library/busybox:1``.

    A first path part with a dot or colon (or ``localhost``) is a registry; otherwise Docker Hub is implied,
    and a single-part name lives under ``library/``.
    """
    first, _, rest = image.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return image
    return f"docker.io/{image}" if rest else f"docker.io/library/{image}"


# --- root filesystems -------------------------------------------------------------------------------------


def _busybox_tree(root: Path, busybox: Path) -> None:
    """A minimal root: busybox with a link per applet, /etc/passwd and /etc/group, the usual empty dirs."""
    for directory in ("bin", "etc", "tmp", "proc", "sys", "dev", "root", "www"):
        (root / directory).mkdir(parents=True, exist_ok=True)
    shutil.copy2(busybox, root / "bin" / "busybox")
    listed = subprocess.run([str(busybox), "--list"], capture_output=True, text=True, check=True).stdout
    for applet in listed.split():
        if applet != "busybox":
            (root / "bin" / applet).symlink_to("busybox")
    (root / "tmp").chmod(0o1777)
    (root / "etc" / "passwd").write_text(
        "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
    )
    (root / "etc" / "group").write_text("root:x:0:\nnogroup:x:65534:\n")


# PID 1 in a container gets no default action for SIGTERM: busybox httpd run directly would ignore the
# kubelet's stop signal and hold every pod deletion for its whole grace period. whoami and nginx exit on
# SIGTERM, so the stand-ins' shell (PID 1) traps it, stops httpd and exits.
SERVE_UNTIL_TERM = """httpd -f -p "$port" -h "$root" &
trap 'kill $! 2>/dev/null; exit 0' TERM INT
wait
"""
WHOAMI_ENTRYPOINT = (
    """#!/bin/sh
# Stand-in for traefik/whoami (see the tier's images.py): busybox httpd on --port (default 80).
port=80
root=/www
for arg in "$@"; do
  case "$arg" in --port=*) port="${arg#--port=}" ;; esac
done
"""
    + SERVE_UNTIL_TERM
)
NGINX_ROOT = "/usr/share/nginx/html"
NGINX_ENTRYPOINT = (
    f"""#!/bin/sh
# Stand-in for nginx (see the tier's images.py): busybox httpd on port 80, nginx's default page.
port=80
root={NGINX_ROOT}
"""
    + SERVE_UNTIL_TERM
)
# busybox httpd runs /cgi-bin/index.cgi for a directory without index.html: that is "/" here.
WHOAMI_CGI = """#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n'
echo "Hostname: $(hostname)"
echo "RemoteAddr: ${REMOTE_ADDR}:${REMOTE_PORT}"
echo "${REQUEST_METHOD} ${REQUEST_URI} ${SERVER_PROTOCOL}"
"""


def _executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


@dataclass(frozen=True)
class Recipe:
    """How to build one image: the root filesystem, what it starts, as whom."""

    name: str
    build: Callable[[Path, Path], None]  # (root directory to fill, KUBEBUILDER_ASSETS)
    entrypoint: list[str] | None = None
    cmd: list[str] | None = None
    user: str = ""


def _pause(root: Path, assets: Path) -> None:
    root.mkdir(parents=True, exist_ok=True)
    shutil.copy2(assets / "pause", root / "pause")


def _busybox(root: Path, assets: Path) -> None:
    _busybox_tree(root, BUSYBOX_BINARY)


def _whoami(root: Path, assets: Path) -> None:
    _busybox_tree(root, BUSYBOX_BINARY)
    _executable(root / "whoami", WHOAMI_ENTRYPOINT)
    _executable(root / "www" / "cgi-bin" / "index.cgi", WHOAMI_CGI)
    (root / "www" / "health").write_text("")


def _nginx(root: Path, assets: Path) -> None:
    _busybox_tree(root, BUSYBOX_BINARY)
    _executable(root / "docker-entrypoint.sh", NGINX_ENTRYPOINT)
    page = root / NGINX_ROOT.lstrip("/") / "index.html"
    page.parent.mkdir(parents=True)
    page.write_text("<!DOCTYPE html>\n<title>Welcome to nginx!</title>\n<h1>Welcome to nginx!</h1>\n")


def _resource_consumer(root: Path, assets: Path) -> None:
    _busybox_tree(root, BUSYBOX_BINARY)
    shutil.copy2(assets / "resource-consumer", root / "consumer")
    (root / "consume-cpu").mkdir()
    shutil.copy2(assets / "consume-cpu", root / "consume-cpu" / "consume-cpu")


RECIPES = (
    Recipe(PAUSE_IMAGE, _pause, entrypoint=["/pause"], user="65535:65535"),
    Recipe(BUSYBOX_IMAGE, _busybox, cmd=["sh"]),
    Recipe(WHOAMI_IMAGE, _whoami, entrypoint=["/whoami"]),
    Recipe(NGINX_IMAGE, _nginx, entrypoint=["/docker-entrypoint.sh"]),
    Recipe(RESOURCE_CONSUMER_IMAGE, _resource_consumer, entrypoint=["/consumer"]),
)


def missing_inputs(assets: Path) -> list[str]:
    """What the recipes need that this machine lacks (files, and the packages they come from)."""
    missing = []
    if not os.access(BUSYBOX_BINARY, os.X_OK):
        missing.append(f"{BUSYBOX_BINARY} (Debian package busybox-static)")
    for binary in ("pause", "resource-consumer", "consume-cpu"):
        if not os.access(assets / binary, os.X_OK):
            missing.append(f"{binary} in KUBEBUILDER_ASSETS")
    return missing


def build_all(assets: Path, directory: Path) -> list[Path]:
    """Build every recipe's archive under ``directory``; returns the archives, in recipe order."""
    archives = []
    for number, recipe in enumerate(RECIPES):
        root = directory / f"rootfs-{number}"
        recipe.build(root, assets)
        archives.append(
            write_archive(
                root,
                recipe.name,
                directory / f"image-{number}.tar",
                entrypoint=recipe.entrypoint,
                cmd=recipe.cmd,
                user=recipe.user,
            )
        )
        shutil.rmtree(root)
    return archives
