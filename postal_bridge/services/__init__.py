"""Use cases: one function per command, each in one transaction; outbox, idempotency, queries. Imports only domain."""
