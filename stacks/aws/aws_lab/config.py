"""The one place the program reads its config: Pulumi's ``lab:`` keys into :class:`AwsConfig`.

Validation is ``infra.envconfig.aws`` (the same code ``infra plan`` runs offline), so a bad value stops the
program before any resource is registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pulumi
from pydantic.alias_generators import to_camel

from infra.envconfig import NAMESPACE
from infra.envconfig.aws import STRUCTURED_KEYS, AwsConfig, parse
from infra.errors import ConfigError


@dataclass(frozen=True)
class SshKeys:
    public: str
    private: pulumi.Output[str]  # secret


def load() -> AwsConfig:
    """Every ``lab:`` key the model knows; structured ones (subnets, tool pins) are JSON objects in Pulumi."""
    config = pulumi.Config(NAMESPACE)
    values = {}
    for name in AwsConfig.model_fields:
        key = to_camel(name)
        value = config.get_object(key) if key in STRUCTURED_KEYS else config.get(key)
        if value is not None:
            values[key] = value
    cfg = parse(values)
    cfg.check_deployable()
    return cfg


def ssh_keys(cfg: AwsConfig) -> SshKeys:
    """The bastion key pair: the public half goes to EC2, the private half (secret) to remote commands."""
    public = _read(cfg.ssh_public_key_file, "sshPublicKeyFile")
    private = _read(cfg.ssh_private_key_file, "sshPrivateKeyFile")
    return SshKeys(public=public.strip(), private=pulumi.Output.secret(private))


def _read(path: str, key: str) -> str:
    file = Path(path).expanduser()
    try:
        return file.read_text()
    except OSError as exc:
        raise ConfigError(
            f"lab:{key} {file} cannot be read ({exc.strerror})",
            "create a key with `ssh-keygen -t ed25519` or point the key at an existing one",
        ) from None
