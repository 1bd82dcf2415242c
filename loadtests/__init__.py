"""Locust swarms and the benchmark harness."""
