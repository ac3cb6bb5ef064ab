"""Baselines of the benchmarks (see README.md)."""
