"""Benchmarks and evaluation tooling; reads ../shared, never ships with the product."""
