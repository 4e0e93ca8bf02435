"""Runnable benchmarks (``python -m benchmarks.<name>`` from the repository root); results go to ``results/``."""
