"""Schemathesis against the API's own generated OpenAPI document, in process (the Flask app as WSGI).

Every operation is called with generated valid and invalid input (examples, coverage and fuzzing phases), then a
stateful run follows the spec's links (create → read, cancel, label, slip, incidents, complaints…). Each response
must not be a 5xx, must have a documented status code and media type, and must match its documented schema.

Bounded for CI: ``MAX_EXAMPLES`` per operation and per stateful run, derandomised (same cases every run). Realistic
values (the seeded agency's wards, phones, the sandbox courier, its dossier code and post offices) are offered
through schemathesis dictionaries, and half of the path ids are swapped for real ids of the seeded world, so the
fuzzer gets past "unknown id" and "unknown ward" into the code behind them.
"""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis import checks as st_checks
from schemathesis.generation.stateful import run_state_machine_as_test

from postal_bridge.cli import openapi_json
from tests.fuzz.conftest import AGENCIES, DOSSIER_CODE

pytestmark = pytest.mark.fuzz

SEED = 20261202
MAX_EXAMPLES = 30
STATEFUL_RUNS = 40
STATEFUL_STEPS = 8
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.status_code_conformance,
    st_checks.content_type_conformance,
    st_checks.response_schema_conformance,
]
ADMIN_PATHS = ("/api/v1/admin/", "/api/v1/privacy/")
HYPOTHESIS = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    # One seeded world per operation, shared by its examples on purpose (state builds up like in production).
    "suppress_health_check": [HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
}

WARDS = [ward for ward, _ in AGENCIES.values()] + ["00070", "00235"]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": MAX_EXAMPLES},
        "dictionaries": {
            "wards": {"values": WARDS},
            "provinces": {"values": sorted({p for _, p in AGENCIES.values()})},
            "phones": {"values": ["0912 345 678", "+84987654321", "0987654321", "02438253536"]},
            "carriers": {"values": ["sandbox"]},
            "dossier_codes": {"values": [DOSSIER_CODE]},
            "offices": {"values": ["DEMO-HN-01", "DEMO-HN-02"]},
            "agencies": {"values": sorted(AGENCIES)},
        },
        "parameters": {
            "body.citizen.address.ward_code": {"dictionary": "wards", "probability": 0.7},
            "body.citizen.address.province_code": {"dictionary": "provinces", "probability": 0.7},
            "body.citizen.phone": {"dictionary": "phones", "probability": 0.7},
            "body.carrier": {"dictionary": "carriers", "probability": 0.7},
            "body.dossier.code": {"dictionary": "dossier_codes", "probability": 0.5},
            "body.ward_code": {"dictionary": "wards", "probability": 0.5},
            "path.dossier_code": {"dictionary": "dossier_codes", "probability": 0.5},
            "path.code": {"dictionary": "offices", "probability": 0.5},
            "path.province_code": {"dictionary": "provinces", "probability": 0.5},
            "path.agency_code": {"dictionary": "agencies", "probability": 0.5},
            "path.carrier": {"dictionary": "carriers", "probability": 0.5},
            "query.agency": {"dictionary": "agencies", "probability": 0.5},
            "query.province": {"dictionary": "provinces", "probability": 0.5},
        },
    }
)
schema = schemathesis.openapi.from_dict(json.loads(openapi_json()), config=CONFIG)


def _digest(*parts: object) -> int:
    return int(hashlib.sha256(repr(parts).encode()).hexdigest()[:12], 16)


def prepare(case, world) -> dict:
    """Real ids for half the path parameters and a fresh Idempotency-Key for every well-formed one; returns the
    call's headers (the admin key for admin operations). Decided from the case itself, so a replay is the same."""
    for name, value in list((case.path_parameters or {}).items()):
        real = world.ids.get(name)
        if real and _digest(name, value) % 2 == 0:
            case.path_parameters[name] = real[_digest(value) % len(real)]
    headers = case.headers or {}
    key = headers.get("Idempotency-Key")
    if isinstance(key, str) and 1 <= len(key) <= 255:
        # Generated keys repeat ("0", "00"…) and would mostly test the reuse rule; integration tests cover that.
        headers["Idempotency-Key"] = f"fuzz-{_digest(key, case.body, case.path_parameters):x}"
    who = "a_admin" if case.path.startswith(ADMIN_PATHS) else "a"
    return world.headers(who)


@schema.parametrize()
@settings(**HYPOTHESIS)
def test_every_operation_answers_as_documented(case, world) -> None:
    case.call_and_validate(app=world.app, headers=prepare(case, world), checks=CHECKS)


def test_stateful_runs_follow_the_links_without_a_violation(world) -> None:
    seen: Counter[tuple[str, int]] = Counter()

    class Links(schema.as_state_machine()):
        def get_call_kwargs(self, case) -> dict:
            return {"app": world.app, "headers": prepare(case, world)}

        def after_call(self, response, case) -> None:
            seen[(f"{case.method} {case.path}", response.status_code)] += 1
            super().after_call(response, case)

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            case.validate_response(response, checks=CHECKS)

    # No shrinking: the database keeps what earlier runs created, so a replayed run would not draw the same
    # steps (Hypothesis calls that flaky); the failing run is reported as it happened, with its curl commands.
    stateful = settings(
        max_examples=STATEFUL_RUNS,
        stateful_step_count=STATEFUL_STEPS,
        phases=[Phase.explicit, Phase.generate],
        **HYPOTHESIS,
    )
    run_state_machine_as_test(Links, settings=stateful)
    # The run went past validation: consignments were created and then used through the links.
    created = seen[("POST /api/v1/consignments", 201)]
    followed = sum(n for (op, status), n in seen.items() if "{consignment_id}" in op and status < 300)
    assert created and followed, dict(seen)
