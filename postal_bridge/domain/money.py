"""Money is an integer number of đồng (VND has no minor unit in practice). Never floats."""

from __future__ import annotations

MAX_VND = 10_000_000_000  # sanity bound for any single amount we accept (10 billion đồng)


def parse_vnd(value: object, field: str = "amount") -> int:
    """Accept a non-negative whole number of đồng; booleans, floats with fractions and strings are refused."""
    if isinstance(value, bool) or not isinstance(value, int):
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        else:
            raise ValueError(f"{field} must be a whole number of đồng")
    if value < 0:
        raise ValueError(f"{field} cannot be negative")
    if value > MAX_VND:
        raise ValueError(f"{field} is larger than {format_vnd(MAX_VND)}")
    return value


def format_vnd(amount: int) -> str:
    """Vietnamese display: dot thousands separator and the đồng sign, e.g. ``25.000 đ``."""
    sign = "-" if amount < 0 else ""
    return f"{sign}{abs(amount):,}".replace(",", ".") + " đ"
