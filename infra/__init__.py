"""Kubernetes lab toolkit."""
