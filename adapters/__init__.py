"""Adapters: the edges of postal-bridge that talk to the outside world."""
