"""Benchmarks that run the real server (see ``bench/api_bench.py``)."""
