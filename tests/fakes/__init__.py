"""Fakes for tests: loopback HTTP server and fake external systems."""
