"""Helpers the tests and benchmarks share: worlds on the sandbox, sample repositories, the crash
harness, git one-liners. Not tests themselves; pytest collects nothing here (no ``test_*``
files), and ``tests/conftest.py`` keeps only the fixtures every test gets."""
