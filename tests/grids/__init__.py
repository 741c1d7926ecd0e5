"""Tests for the domain and store package ``grids``."""
