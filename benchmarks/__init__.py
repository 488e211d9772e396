"""Benchmarks (``python -m benchmarks``): lesson notebooks end to end, Lesson 01's
experiment mix per track, and micro-benchmarks of the helpers against the plain frameworks."""
