"""The benchmark harness: runs every figure, then writes docs/benchmarks.md and its plots.

Entry point: ``benchmarks/run`` (which sets up its virtualenv and calls ``python -m harness``).
Each figure that measures inside Django runs in its own process, started by ``harness.main``.
"""
