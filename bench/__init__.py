"""Benchmarks: they measure and report, never fail a build (tests assert, benchmarks report)."""
