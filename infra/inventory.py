"""The Ansible inventory and kubeconfig of an environment, generated from its stack outputs.

Everything downstream of Pulumi (Ansible, kubectl, the probes) reads these files, never the stack:
``.infra/<env>/kubeconfig`` (0600), ``.infra/<env>/outputs.json`` (the outputs without the kubeconfig) and
``.infra/<env>/inventory.yml`` in the shape documented in docs/architecture.md. A file is rewritten only when
its content changes, so a second ``infra up`` leaves them untouched.

The aws inventory also needs what the output contract does not carry: the bastion's public address (the
contract's ``nfs_server`` is its private one, what the kubelets mount) and the ARNs of the ingress NLB's
target groups (ingress-nginx binds to them). Both are read from AWS with boto3 (:mod:`infra.aws`).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from infra.contract import StackOutputs, parse_outputs
from infra.envconfig.local import cluster_name_from_context, nfs_container_for
from infra.environments import Environment
from infra.errors import ConfigError, InfraError
from infra.paths import write_private
from infra.state import EnvState

if TYPE_CHECKING:  # boto3 is imported only when an aws inventory is built
    from infra.aws import AwsApi
    from infra.envconfig.aws import AwsConfig

DOCKER = {"ansible_connection": "community.docker.docker"}
CONTROLLER = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}


def build(outputs: StackOutputs, *, aws_api: AwsApi | None = None) -> dict[str, Any]:
    """The inventory as data: shared ``lab_*`` vars, the controller, and the hosts Ansible reaches.

    On aws the stack outputs are not enough: the bastion's public address and the ingress target groups are
    read from AWS (``aws_api``, default: the stack's region with the user's credentials).
    """
    env = outputs.environment
    state = EnvState.of(env)
    variables: dict[str, Any] = {
        "lab_environment": env,
        "lab_kubeconfig": str(state.kubeconfig.resolve()),
        "lab_kube_context": outputs.context,
        "lab_nfs_server": outputs.nfs_server,
        "lab_nfs_path": outputs.nfs_path,
        "lab_ingress_address": outputs.ingress_address,
        "lab_ingress_host": outputs.ingress_host,
        "lab_ingress_http_port": outputs.ingress_http_port,
        "lab_ingress_https_port": outputs.ingress_https_port,
    }
    children: dict[str, Any] = {"cluster": {"hosts": {"localhost": dict(CONTROLLER)}}}
    if env == "local":
        children["kind_nodes"] = {"hosts": {node: dict(DOCKER) for node in outputs.nodes}}
        container = nfs_container_for(cluster_name_from_context(outputs.context))
        children["nfs_server"] = {"hosts": {container: dict(DOCKER)}}
    else:
        aws_vars, bastion = _aws(outputs, aws_api)
        variables.update(aws_vars)
        children["kind_nodes"] = {"hosts": {}}
        children["nfs_server"] = {"hosts": {"bastion": bastion}}
    return {"all": {"vars": variables, "children": children}}


@dataclass(frozen=True)
class AwsFacts:
    """What the aws inventory needs beyond the stack outputs, read from AWS."""

    bastion_address: str  # public IP: Ansible on the user's machine SSHes to it (lab:sshCidr)
    target_groups: dict[str, str]  # ingress port name (http, https) -> target group ARN
    proxy_protocol: bool  # proxy_protocol_v2.enabled of those target groups (all equal)


def _aws(outputs: StackOutputs, aws_api: AwsApi | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The aws-only variables and the bastion host (the NFS server, over SSH as the stack's SSH user)."""
    from infra.aws import AwsApi  # late: boto3 and the stack file only for the aws environment
    from infra.envconfig.aws import load_config

    cfg = load_config()
    key = Path(cfg.ssh_private_key_file).expanduser()
    if not key.is_file():
        raise ConfigError(
            f"lab:sshPrivateKeyFile {key} does not exist: Ansible needs it to reach the bastion",
            "point `pulumi config set lab:sshPrivateKeyFile <file> -C stacks/aws -s aws` at the private half "
            "of the key pair the stack was created with",
        )
    facts = aws_facts(outputs, cfg, aws_api or AwsApi(cfg.region))
    variables = {
        "lab_aws_region": cfg.region,
        "lab_vpc_cidr": str(cfg.vpc_cidr),
        "lab_ingress_target_groups": facts.target_groups,
        "lab_ingress_proxy_protocol": facts.proxy_protocol,
    }
    bastion = {
        "ansible_host": facts.bastion_address,
        "ansible_user": cfg.bastion_user,
        "ansible_ssh_private_key_file": str(key),
        # A fresh bastion's host key is trusted on first use and kept per environment, so a new bastion
        # on a recycled address after `infra down` never meets a stale key in ~/.ssh/known_hosts.
        "ansible_ssh_common_args": "-o StrictHostKeyChecking=accept-new -o UserKnownHostsFile="
        + shlex.quote(str(EnvState.of("aws").known_hosts.resolve())),
        "ansible_become": True,
    }
    return variables, bastion


def aws_facts(outputs: StackOutputs, cfg: AwsConfig, api: AwsApi) -> AwsFacts:
    """The bastion's public address (by its tags) and the ingress NLB's target groups (by name).

    The NLB is the one answering on the stack's ``ingress_address``; its groups must be the stack's ``ip``
    groups on 80 and 443. Any AWS error is an InfraError naming the region, never a traceback.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from infra.aws import CREDENTIALS_HINT
    from infra.envconfig.aws import INGRESS_PORTS

    try:
        address = api.bastion_address(cfg.cluster_name)
        balancer = api.find_load_balancer(outputs.ingress_address)
        groups = {group.name: group for group in api.target_groups(balancer.arn)}
        arns: dict[str, str] = {}
        for port_name, port in INGRESS_PORTS.items():
            name = cfg.ingress_target_group_name(port_name)
            group = groups.get(name)
            if group is None or group.port != port or group.target_type != "ip":
                raise InfraError(
                    f"the ingress NLB {balancer.name} has no ip target group {name} on port {port} "
                    f"(it has: {', '.join(sorted(groups)) or 'none'})",
                    "bring the stack up to date: `infra up --env aws --from pulumi`",
                )
            arns[port_name] = group.arn
        proxy = {port_name: _proxy_protocol(api, arn) for port_name, arn in arns.items()}
    except (BotoCoreError, ClientError) as exc:
        raise InfraError(f"cannot read the AWS lab in {api.region}: {exc}", CREDENTIALS_HINT) from None
    if len(set(proxy.values())) != 1:
        raise InfraError(
            f"the ingress target groups disagree on proxy protocol v2: {proxy}",
            "set proxy_protocol_v2 the same on both (stacks/aws/aws_lab/ingress.py) and run `pulumi up`",
        )
    return AwsFacts(bastion_address=address, target_groups=arns, proxy_protocol=next(iter(proxy.values())))


def _proxy_protocol(api: AwsApi, target_group_arn: str) -> bool:
    answer = api.client("elbv2").describe_target_group_attributes(TargetGroupArn=target_group_arn)
    values = {a["Key"]: a.get("Value", "") for a in answer.get("Attributes", [])}
    return values.get("proxy_protocol_v2.enabled", "false").lower() == "true"


def render(outputs: StackOutputs, *, aws_api: AwsApi | None = None) -> str:
    header = f"# Generated by `infra up --env {outputs.environment}` from the stack outputs: do not edit.\n"
    data = build(outputs, aws_api=aws_api)
    return header + yaml.safe_dump(data, sort_keys=False, default_flow_style=False)


@dataclass(frozen=True)
class Written:
    path: Path
    changed: bool


def write(outputs: StackOutputs, *, aws_api: AwsApi | None = None) -> list[Written]:
    """Write kubeconfig (0600), outputs.json and inventory.yml of the outputs' environment.

    The inventory is rendered first: on aws it reads AWS, and a failure there must leave no file half-new.
    """
    state = EnvState.of(outputs.environment)
    inventory_text = render(outputs, aws_api=aws_api)
    files = [
        (state.kubeconfig, outputs.kubeconfig, True),
        (state.outputs, json.dumps(outputs.public(), indent=2, sort_keys=True) + "\n", False),
        (state.inventory, inventory_text, False),
    ]
    return [_write_if_changed(path, content, private) for path, content, private in files]


def _write_if_changed(path: Path, content: str, private: bool) -> Written:
    if path.is_file() and path.read_text() == content:
        if private:
            path.chmod(0o600)
        return Written(path, changed=False)
    if private:
        write_private(path, content)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content)
    return Written(path, changed=True)


def read_saved(env: Environment | str) -> StackOutputs | None:
    """The outputs the inventory stage saved (``outputs.json``, ``kubeconfig``); None if either is missing."""
    state = EnvState.of(env)
    outputs, kubeconfig = state.outputs, state.kubeconfig
    if not outputs.is_file() or not kubeconfig.is_file():
        return None
    try:
        public = json.loads(outputs.read_text(encoding="utf-8"))
        return parse_outputs({**public, "kubeconfig": kubeconfig.read_text(encoding="utf-8")})
    except (OSError, ValueError, InfraError):
        return None  # unreadable or from an older contract: ask the stack


def remove(env: Environment | str) -> list[Path]:
    """Delete the generated kubeconfigs, outputs, inventory (and SSH known_hosts) of ``env``; returns them."""
    removed = []
    for path in EnvState.of(env).generated:
        if path.is_file():
            path.unlink()
            removed.append(path)
    return removed
