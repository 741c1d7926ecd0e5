"""Tests for the HTTP API and CLI."""
