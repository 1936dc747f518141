"""The WebAssembly spec-suite runner (run.py), importable as `spec.run` with tests/ on sys.path."""
