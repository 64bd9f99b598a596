"""Benchmark scripts (``bench/run``); see bench/README.md. Nothing here is imported by Chai."""
