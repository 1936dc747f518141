"""Helpers that run code under the MicroPython unix port from pytest (see runner.py)."""
