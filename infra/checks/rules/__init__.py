"""Importing this package registers every policy rule (one module per area)."""

from infra.checks.rules import containers, credentials, hpa, network, references

__all__ = ["containers", "credentials", "hpa", "network", "references"]
