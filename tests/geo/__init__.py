"""Tests for the pure computation package ``geo``."""
