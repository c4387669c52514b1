"""Load and pipeline benchmarks (see bench/README.md)."""
