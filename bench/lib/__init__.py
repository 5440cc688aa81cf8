"""The benchmark harness behind bench/run: one module per concern (see bench/README.md)."""
