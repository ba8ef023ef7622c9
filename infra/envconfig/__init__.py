"""Typed stack configuration per environment (shared by the Pulumi programs and `infra plan`)."""
