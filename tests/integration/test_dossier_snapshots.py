"""``PUT|GET /api/v1/dossiers/<code>``: the dossier system's snapshot of a dossier — idempotent upsert, fields named
in 422 answers, NFC text, only the last 4 of the ID kept, agency isolation, and an audit entry per change."""

from __future__ import annotations

import json
import unicodedata

import pytest
from sqlalchemy import text

from postal_bridge.services import agencies
from tests.conftest import register_hanoi

CODE = "000.00.12.H56-261203-0001"


def snapshot_body(code: str = CODE, **changes) -> dict:
    body = {
        "code": code,
        "procedure_code": "1.001229",
        "procedure_name": "Cấp Phiếu lý lịch tư pháp",
        "appointment_date": "2026-12-15",
        "citizen": {
            "name": "Nguyễn Thị Hằng",
            "phone": "0912 345 678",
            "id_type": "cccd",
            "id_number": "001190012345",
            "address": {"line": "Số 12 ngõ 34 phố Láng Hạ", "ward_code": "00199", "province_code": "01"},
        },
        "preference": "return",
    }
    for path, value in changes.items():
        node = body
        *parents, leaf = path.split("__")
        for p in parents:
            node = node[p]
        if value is None:
            node.pop(leaf, None)
        else:
            node[leaf] = value
    return body


class Api:
    def __init__(self, container) -> None:
        from postal_bridge import create_app

        register_hanoi(container.deps)
        agencies.register_agency(
            container.deps,
            code="HCC-TQ",
            name="Trung tâm Phục vụ hành chính công tỉnh Tuyên Quang",
            phone="02073822525",
            line="Số 1 đường 17/8",
            ward_code="02215",
            province_code="08",
        )
        self.keys = {
            code: agencies.create_api_key(container.deps, agency_code=code, name="one-stop").api_key
            for code in ("HCC-HN", "HCC-TQ")
        }
        self.client = create_app(container=container).test_client()
        self.container = container

    def put(self, body: dict, code: str = CODE, who: str = "HCC-HN"):
        return self.client.put(
            f"/api/v1/dossiers/{code}", json=body, headers={"Authorization": f"Bearer {self.keys[who]}"}
        )

    def get(self, code: str = CODE, who: str = "HCC-HN"):
        return self.client.get(f"/api/v1/dossiers/{code}", headers={"Authorization": f"Bearer {self.keys[who]}"})

    def rows(self, sql: str) -> list:
        with self.container.engine.connect() as conn:
            return conn.execute(text(sql)).mappings().all()


@pytest.fixture
def api(container) -> Api:
    return Api(container)


def test_a_put_stores_the_snapshot_and_the_same_body_again_changes_nothing(api: Api, clock) -> None:
    created = api.put(snapshot_body())
    assert created.status_code == 201, created.get_data(as_text=True)
    data = created.get_json()
    assert data["revision"] == 1 and data["code"] == CODE and data["preference"] == "return"
    assert data["citizen"]["phone"] == "+84912345678"  # normalised to E.164
    assert data["citizen"]["id_type"] == "cccd" and data["citizen"]["id_last4"] == "2345"
    assert "id_number" not in data["citizen"]
    first_updated = data["updated_at"]

    clock.advance(60)
    again = api.put(snapshot_body())
    assert again.status_code == 200
    assert again.get_json()["revision"] == 1 and again.get_json()["updated_at"] == first_updated
    assert len(api.rows("SELECT * FROM dossier_snapshots")) == 1

    clock.advance(60)
    changed = api.put(snapshot_body(appointment_date="2026-12-20", citizen__phone="+84 98 765 4321"))
    assert changed.status_code == 200
    body = changed.get_json()
    assert body["revision"] == 2 and body["appointment_date"] == "2026-12-20"
    assert body["citizen"]["phone"] == "+84987654321" and body["received_at"] == data["received_at"]
    assert body["updated_at"] != first_updated

    read = api.get(CODE.lower())  # codes are matched whatever their case
    assert read.status_code == 200 and read.get_json() == body

    # Every change is audited with the names of the fields, never the personal data itself.
    audit = api.rows("SELECT actor, action, subject, details FROM audit_log ORDER BY id")
    assert [a["action"] for a in audit] == ["dossier.snapshot_created", "dossier.snapshot_updated"]
    assert audit[1]["subject"] == f"dossier:HCC-HN:{CODE}"
    details = audit[1]["details"] if isinstance(audit[1]["details"], dict) else json.loads(audit[1]["details"])
    assert sorted(details["changed"]) == ["appointment_date", "citizen.phone"]
    assert details["before"] == {"revision": 1} and details["after"] == {"revision": 2}
    dumped = json.dumps([dict(a) for a in audit], default=str, ensure_ascii=False)
    for secret in ("Nguyễn Thị Hằng", "912345678", "987654321", "001190012345", "Láng Hạ"):
        assert secret not in dumped


def test_the_whole_identity_number_is_never_stored(api: Api) -> None:
    assert api.put(snapshot_body()).status_code == 201
    row = api.rows("SELECT * FROM dossier_snapshots")[0]
    assert "001190012345" not in json.dumps(dict(row), default=str)
    assert (row["citizen_id_type"], row["citizen_id_last4"]) == ("cccd", "2345")
    no_id = api.put(snapshot_body(citizen__id_number=None, citizen__id_type=None))
    assert no_id.status_code == 200 and no_id.get_json()["citizen"]["id_last4"] is None


def test_text_is_stored_in_nfc(api: Api) -> None:
    decomposed = unicodedata.normalize("NFD", "Nguyễn Thị Hằng")
    assert decomposed != "Nguyễn Thị Hằng"
    stored = api.put(snapshot_body(citizen__name=decomposed, procedure_name=unicodedata.normalize("NFD", "Cấp phép")))
    assert stored.status_code == 201
    row = api.rows("SELECT citizen_name, procedure_name FROM dossier_snapshots")[0]
    assert row["citizen_name"] == "Nguyễn Thị Hằng" and row["procedure_name"] == "Cấp phép"
    same = api.put(snapshot_body(procedure_name="Cấp phép"))  # the NFC form of the same text: nothing changes
    assert same.status_code == 200 and same.get_json()["revision"] == 1


@pytest.mark.parametrize(
    ("changes", "where"),
    [
        ({"citizen__name": None}, ("citizen", "name")),
        ({"citizen__phone": "12345678"}, ("citizen", "phone")),
        ({"citizen__phone": "01234567890"}, ("citizen", "phone")),  # an old 11-digit mobile: the new one is named
        ({"citizen__address__ward_code": "02215"}, ("citizen", "address", "ward_code")),  # a Tuyên Quang ward
        ({"citizen__address__ward_code": "99999"}, ("citizen", "address", "ward_code")),
        ({"citizen__address__line": ""}, ("citizen", "address", "line")),
        ({"citizen__id_number": "0011900123AB"}, ("citizen", "id_number")),  # a CCCD ends with digits
        ({"citizen__id_type": "passport", "citizen__id_number": None}, ("citizen", "id_number")),
        ({"code": "000.00.12.H56-261203-0002"}, ("code",)),  # not the URL's dossier
        ({"preference": "fax"}, ("preference",)),
        ({"appointment_date": "15/12/2026"}, ("appointment_date",)),
        ({"unexpected": 1}, ("unexpected",)),
    ],
)
def test_bad_input_is_refused_naming_the_field_and_stores_nothing(api: Api, changes: dict, where: tuple) -> None:
    refused = api.put(snapshot_body(**changes))
    assert refused.status_code == 422, refused.get_data(as_text=True)
    node = refused.get_json()["errors"]["json"]
    for key in where:
        assert key in node, (where, refused.get_json()["errors"])
        node = node[key]
    assert node and all(isinstance(m, str) for m in node)
    assert api.rows("SELECT * FROM dossier_snapshots") == []
    assert api.rows("SELECT * FROM audit_log") == []


def test_an_old_mobile_number_is_answered_with_the_new_one(api: Api) -> None:
    refused = api.put(snapshot_body(citizen__phone="0123 456 7890"))
    assert refused.status_code == 422
    assert "0834 567 890" in refused.get_json()["errors"]["json"]["citizen"]["phone"][0]


def test_each_agency_sees_only_its_own_snapshots(api: Api) -> None:
    assert api.put(snapshot_body()).status_code == 201
    assert api.get(who="HCC-TQ").status_code == 404  # exactly like an unknown code
    assert api.get("000.00.12.H56-261203-0099").status_code == 404
    theirs = snapshot_body(
        citizen__name="Hoàng Văn Nam",
        citizen__address={"line": "Số 5 đường Tân Trào", "ward_code": "02215", "province_code": "08"},
    )
    assert api.put(theirs, who="HCC-TQ").status_code == 201  # the same code at another agency is another dossier
    assert api.get().get_json()["citizen"]["name"] == "Nguyễn Thị Hằng"
    assert api.get(who="HCC-TQ").get_json()["citizen"]["name"] == "Hoàng Văn Nam"
    assert api.client.get(f"/api/v1/dossiers/{CODE}").status_code == 401
    assert api.client.put(f"/api/v1/dossiers/{CODE}", json={}).status_code == 401  # 401 before any 422
