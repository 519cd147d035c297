"""The load tests (locustfile.py) and the benchmark (python -m loadtests.benchmark)."""
