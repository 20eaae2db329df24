"""Omniroute benchmarks (`make bench`)."""
