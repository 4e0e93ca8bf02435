"""The postman's phone for the citizen's page, kept when an item goes out for delivery: the clerk's own number on an
out-for-delivery scan (``users.phone``), or the courier employee's phone its event carries (Viettel Post
``EMPLOYEE_PHONE``). The tracking page shows it only on that day (``domain.citizen.postman_phone_today``).

Called inside the caller's unit of work; it reads and writes nothing else, so scans and courier folds stay one
transaction.
"""

from __future__ import annotations

import logging
from datetime import datetime

from postal_bridge.domain.citizen import PostmanContact
from postal_bridge.domain.phone import parse_phone
from postal_bridge.domain.ports import UnitOfWork

log = logging.getLogger("postal_bridge.citizen")


def record_postman_contact(
    uow: UnitOfWork, consignment_id: str, phone: str | None, *, at: datetime, source: str
) -> None:
    """Keep the phone of whoever took the item out for delivery (a number that does not parse is dropped)."""
    if not phone:
        return
    try:
        e164 = parse_phone(phone).e164
    except ValueError:
        log.info("postman phone not usable", extra={"consignment_id": consignment_id, "source": source})
        return
    uow.citizen.put_contact(PostmanContact(consignment_id=consignment_id, phone=e164, at=at, source=source))
