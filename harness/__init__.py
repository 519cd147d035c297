"""Throwaway copies of the stack, started for the test suites and the benchmark.

``compose`` runs a Compose project from this checkout, ``loopback`` runs
Debian's nginx, gunicorn and PostgreSQL on loopback; ``waiting`` holds the
small helpers both need. Tests and the benchmark (``loadtests/benchmark``) import from here, so
neither reaches into the other.
"""
