"""Performance measurements of Tessera (run as modules: python -m benchmarks.NAME)."""
