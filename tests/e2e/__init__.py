"""End-to-end tests: real processes, real HTTP, a real browser."""
