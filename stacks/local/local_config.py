"""The stack's configuration, read in one place: every ``lab:`` key into a validated LocalConfig.

Values are read as raw strings and validated by :mod:`infra.envconfig.local`, the same model ``infra plan``
uses offline, so a bad value fails here with the same message before any resource is registered.
"""

from __future__ import annotations

import pulumi
from pydantic.alias_generators import to_camel

from infra.envconfig import NAMESPACE
from infra.envconfig.local import LocalConfig, parse


def load() -> LocalConfig:
    """The stack's LocalConfig; raises ConfigError naming each bad ``lab:`` key."""
    config = pulumi.Config(NAMESPACE)
    values = {}
    for field in LocalConfig.model_fields:
        key = to_camel(field)
        value = config.get(key)
        if value is not None:
            values[key] = value
    return parse(values)
