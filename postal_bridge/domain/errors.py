"""Domain and service errors. Each has a stable ``code``; the API maps classes to HTTP statuses."""

from __future__ import annotations


class PostalBridgeError(Exception):
    """Base of every error we raise on purpose."""

    code = "error"

    def __init__(self, message: str, *, errors: dict | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


class ValidationFailed(PostalBridgeError):
    """Input broke a rule; ``errors`` maps each bad field (dotted path) to its messages. Nothing was changed."""

    code = "validation_failed"

    def __init__(self, errors: dict[str, list[str]], message: str = "The request has invalid fields.") -> None:
        super().__init__(message, errors=errors)


class NotFound(PostalBridgeError):
    code = "not_found"


class Conflict(PostalBridgeError):
    """The request is well formed but the current state refuses it (e.g. cancel after the courier has the item)."""

    code = "conflict"


class IllegalTransition(Conflict):
    code = "illegal_transition"

    def __init__(self, kind: str, current: str, target: str) -> None:
        super().__init__(f"A {kind} consignment cannot go from '{current}' to '{target}'.")
        self.kind = kind
        self.current = current
        self.target = target


class IdempotencyKeyInUse(Conflict):
    """The same Idempotency-Key is still being processed."""

    code = "idempotency_in_flight"


class IdempotencyKeyReused(PostalBridgeError):
    """The same Idempotency-Key was sent with another body."""

    code = "idempotency_key_reused"


class Unauthorized(PostalBridgeError):
    code = "unauthorized"


class Forbidden(PostalBridgeError):
    code = "forbidden"
