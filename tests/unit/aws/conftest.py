"""Fixtures of the AWS environment's tests: a real moto server over HTTP, the Pulumi program under mocks."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml
from pulumi.runtime.mocks import MockMonitor

from infra import envconfig
from infra.paths import STACKS_DIR

STACK_DIR = STACKS_DIR / "aws"
PROGRAM = STACK_DIR / "__main__.py"
MOTO_SERVER = Path(sys.executable).with_name("moto_server")
FAKE_KUBECONFIG = "apiVersion: v1\nkind: Config\ncurrent-context: lab.k8s.local\n"
FAKE_NODES = "i-0b2c\ni-0a1b\ni-0c3d\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real ``moto_server`` on 127.0.0.1 for the whole session; boto3 talks to it over HTTP."""
    port = _free_port()
    # no default AMIs: EC2 backend start-up drops from seconds to a fraction; the tests create what they need
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
    }
    process = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    endpoint = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # noqa: S310 - local test server
                break
            except (urllib.error.URLError, ConnectionError):
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"moto_server did not start on port {port} (exit code {process.poll()})")
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture
def aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials for moto; never the developer's real ones."""
    for key in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


# --- Pulumi program under mocks ---------------------------------------------------------------------------


class Mocks(pulumi.runtime.Mocks):
    """Records every registered resource; fills in the outputs AWS (or the bastion) would compute."""

    def __init__(self) -> None:
        self.resources: list[pulumi.runtime.MockResourceArgs] = []
        self.calls: list[pulumi.runtime.MockCallArgs] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        self.resources.append(args)
        state = dict(args.inputs)
        n = len(self.resources)
        match args.typ:
            case "aws:ec2/instance:Instance":
                state.update(public_ip="198.51.100.20", private_ip="172.30.32.10")
            case "aws:ec2/eip:Eip":
                state.update(public_ip=f"198.51.100.{100 + n}", allocation_id=f"eipalloc-{n:04d}")
            case "aws:lb/loadBalancer:LoadBalancer":
                state.update(
                    dns_name=f"{args.inputs['name']}-0123456789.elb.us-east-1.amazonaws.com", arn="arn:lb"
                )
            case "aws:lb/targetGroup:TargetGroup":
                state.update(
                    arn=f"arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/{args.name}"
                )
            case "aws:iam/policy:Policy":
                state.update(arn=f"arn:aws:iam::123456789012:policy/{args.name}")
            case "aws:s3/bucket:Bucket":
                state.update(bucket=f"{args.inputs['bucketPrefix']}20261121")
            case "aws:ec2/keyPair:KeyPair":
                state.update(key_name=f"{args.name}-kp")
            case "command:remote:Command":
                if args.name.endswith("-kubeconfig"):
                    state.update(stdout=FAKE_KUBECONFIG)
                elif args.name.endswith("-nodes"):
                    state.update(stdout=FAKE_NODES)
                else:
                    state.update(stdout="cluster is ready")
        return f"{args.name}-id", state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any]:
        # a plain dict: the (result, None) tuple form trips over None in this SDK's MockMonitor.Invoke
        self.calls.append(args)
        if args.token == "aws:ec2/getAmi:getAmi":
            return {"id": "ami-0123456789abcdef0", "name": "ubuntu-noble-24.04"}
        return {}

    def of_type(self, typ: str) -> list[pulumi.runtime.MockResourceArgs]:
        return [r for r in self.resources if r.typ == typ]

    def named(self, name: str) -> pulumi.runtime.MockResourceArgs:
        (found,) = [r for r in self.resources if r.name == name]
        return found


class RecordingMonitor(MockMonitor):
    """Keeps each resource's explicit dependencies (URNs), which the mocks API does not expose."""

    def __init__(self, mocks: Mocks) -> None:
        super().__init__(mocks)
        self.dependencies: dict[str, list[str]] = {}

    def RegisterResource(self, request: Any) -> Any:
        self.dependencies[request.name] = list(request.dependencies)
        return super().RegisterResource(request)


@dataclass
class ProgramRun:
    mocks: Mocks
    monitor: RecordingMonitor
    outputs: dict[str, Any] = field(default_factory=dict)
    error: BaseException | None = None


@pytest.fixture(scope="session")
def ssh_key_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("ssh")
    private, public = folder / "id_test", folder / "id_test.pub"
    private.write_text(
        "-----BEGIN OPENSSH PRIVATE KEY-----\nnot-a-real-key\n-----END OPENSSH PRIVATE KEY-----\n"
    )
    public.write_text("ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAITESTKEY lab@test\n")
    return private, public


def cli_config(config: Mapping[str, str], *, project_defaults: bool = True) -> dict[str, str]:
    """The ``lab:`` config the Pulumi CLI hands the program: Pulumi.yaml's defaults, the stack's on top.

    Defaults are text as the CLI formats a primitive (``%v``: ``2``, ``false``). ``project_defaults=False``
    stands for a project that declares none (what the program does when a key is absent altogether).
    """
    values: dict[str, str] = {}
    if project_defaults:
        declared = envconfig.project_defaults(
            STACK_DIR / "Pulumi.yaml", fix_hint="fix stacks/aws/Pulumi.yaml"
        )
        values = {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in declared.items()}
    return {f"lab:{k}": v for k, v in {**values, **config}.items()}


def run_program(config: Mapping[str, str], *, project_defaults: bool = True) -> ProgramRun:
    """Run ``stacks/aws/__main__.py`` under mocks with ``lab:`` config; resolve its ``outputs`` dict."""
    if str(STACK_DIR) not in sys.path:
        sys.path.insert(0, str(STACK_DIR))
    mocks = Mocks()
    run = ProgramRun(mocks=mocks, monitor=RecordingMonitor(mocks))
    pulumi.runtime.set_mocks(mocks, project="lab", stack="aws", preview=False, monitor=run.monitor)
    pulumi.runtime.set_all_config(cli_config(config, project_defaults=project_defaults))

    @pulumi.runtime.test
    def program() -> Any:
        namespace = runpy.run_path(str(PROGRAM), run_name="lab_aws_program")
        outputs = namespace["outputs"]
        return pulumi.Output.all(*outputs.values()).apply(
            lambda values: run.outputs.update(zip(outputs, values, strict=True))
        )

    try:
        program()
    except Exception as exc:  # the tests assert on it
        run.error = exc
    return run


@pytest.fixture(name="run_program", scope="session")
def run_program_fixture() -> Any:
    """The runner, for tests that run the program with their own config (tests cannot import conftest)."""
    return run_program


@pytest.fixture(scope="session")
def base_config(ssh_key_files: tuple[Path, Path]) -> dict[str, str]:
    private, public = ssh_key_files
    return {
        "sshCidr": "198.18.0.7/32",
        "sshPrivateKeyFile": str(private),
        "sshPublicKeyFile": str(public),
    }


@pytest.fixture(scope="session")
def program_run(base_config: dict[str, str]) -> ProgramRun:
    """One run of the program with valid config, shared by the resource and output tests."""
    run = run_program(base_config)
    if run.error is not None:
        raise run.error
    return run


# --- a recorded AWS lab (what `pulumi up` leaves behind, as its outputs say) -------------------------------

LAB_REGION = "eu-west-1"  # not the region of test_aws_api.py's own resources: both share one moto server
ACCOUNT_ARN = "arn:aws:elasticloadbalancing:eu-west-1:000000000000"


@dataclass(frozen=True)
class AwsLab:
    """A stack file for the lab's region and the stack outputs such a stack exports (core and aws extras)."""

    region: str
    stack_file: Path
    private_key: Path
    bastion_public_ip: str
    bastion_private_ip: str
    target_groups: dict[str, str]  # port name -> ARN
    outputs: dict[str, Any]  # `pulumi stack output --json --show-secrets` of such a stack


@pytest.fixture(scope="session")
def aws_lab(ssh_key_files: tuple[Path, Path], tmp_path_factory) -> AwsLab:
    """The outputs of an aws stack in ``LAB_REGION`` and a stack file naming that region and the test key.

    ``infra.envconfig.aws.load_config`` reads the stack file like the committed one (preflight checks its
    region's zones); the inventory reads nothing but the outputs.
    """
    region = LAB_REGION
    private, public = ssh_key_files
    stack_file = tmp_path_factory.mktemp("stack") / "Pulumi.aws.yaml"
    stack_file.write_text(
        yaml.safe_dump(
            {
                "config": {
                    "lab:sshCidr": "198.18.0.7/32",
                    "lab:region": region,
                    "lab:subnets": [
                        {"zone": f"{region}a", "cidr": "172.30.32.0/19"},
                        {"zone": f"{region}b", "cidr": "172.30.64.0/19"},
                    ],
                    "lab:sshPrivateKeyFile": str(private),
                    "lab:sshPublicKeyFile": str(public),
                }
            }
        )
    )
    groups = {
        "http": f"{ACCOUNT_ARN}:targetgroup/lab-ingress-http/0123456789abcdef",
        "https": f"{ACCOUNT_ARN}:targetgroup/lab-ingress-https/fedcba9876543210",
    }
    outputs = {
        "environment": "aws",
        "kubeconfig": FAKE_KUBECONFIG,
        "context": "lab.k8s.local",
        "ingress_address": "lab-ingress-0123456789abcdef.elb.eu-west-1.amazonaws.com",
        "ingress_host": "203-0-113-25.nip.io",
        "ingress_http_port": 80,
        "ingress_https_port": 443,
        "nfs_server": "172.30.32.10",
        "nfs_path": "/exports/k8s",
        "nodes": ["i-0a1b", "i-0b2c", "i-0c3d"],
        "aws_region": region,
        "vpc_cidr": "172.30.0.0/16",
        "bastion_address": "198.51.100.20",
        "ssh_user": "ubuntu",
        "ssh_private_key_file": str(private),
        "ingress_target_groups": groups,
        "ingress_proxy_protocol": False,
    }
    return AwsLab(
        region=region,
        stack_file=stack_file,
        private_key=private,
        bastion_public_ip="198.51.100.20",
        bastion_private_ip="172.30.32.10",
        target_groups=groups,
        outputs=outputs,
    )


@pytest.fixture
def aws_stack(aws_lab: AwsLab, moto_endpoint: str, aws_credentials: None, monkeypatch, tmp_path) -> AwsLab:
    """The recorded lab as the environment sees it: its stack file, boto3 pointed at moto, state in tmp.

    ``AWS_ENDPOINT_URL`` sends every boto3 client the code under test makes (preflight's credentials and
    zones) to the moto server, so the real code path (``AwsApi(region)`` without an endpoint) is what runs.
    """
    from infra.envconfig import aws as envconfig

    monkeypatch.setattr(envconfig, "STACK_FILE", aws_lab.stack_file)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("INFRA_STATE_DIR", str(tmp_path / "state"))
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    return aws_lab
