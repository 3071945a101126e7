"""Benchmarks: each prints its figures (and ratios to the anchors named by its issue); not part of make test."""
