"""Benchmark scripts; each prints a Markdown table for docs/benchmarks.md."""
