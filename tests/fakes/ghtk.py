"""A fake GHTK (Giao Hàng Tiết Kiệm) API speaking GHTK's wire format (reference/carriers.md §2.4, §5.5).

- Auth: header ``Token`` on every call (plus ``X-Client-Source`` when ``config["client_source"]`` is set). An unknown
  token gets HTTP 403 ``{success:false, message}``; a token listed in ``config["expired_tokens"]`` gets HTTP 200
  ``{success:false, message:"Token đã hết hạn…"}`` — both shapes are reported by implementers [?].
- ``GET /services/shipment/fee`` (query params, weight in g) → ``{success, fee:{name, fee, insurance_fee, delivery,
  …}}``; ``delivery:false`` for provinces in ``config["unserviceable_provinces"]``.
- ``POST /services/shipment/order`` ``{products[], order{}}``: product weights in kg unless ``weight_option=gram``;
  addresses by NAME checked against the master data below (real 2025 wards of provinces 01 and 08, with the legacy
  district they were in); ``label = "S<shop>.A1.<n>"`` and a numeric ``tracking_id``; a reused ``order.id`` →
  ``success:false, error{code:"ORDER_ID_EXIST", partner_id, ghtk_label, created, status}, log_id``.
- ``GET /services/shipment/v2/{label | partner_id:<id>}`` → ``order{label_id, partner_id, status, status_text,
  created, modified, …}`` showing the MAIN state only (sub-states 45/49/123/127/128/410 are webhook-only).
- ``POST /services/shipment/cancel/{label | partner_id:<id>}`` only in states 1, 2, 12.
- ``GET /services/label/{label}`` → a minimal valid PDF (``Content-Type: application/pdf``).
- Webhook (``webhook_payload``): form-encoded by default (``config["webhook_format"] = "json"`` for JSON), fields
  ``partner_id, label_id, status_id, action_time (+07:00), reason_code, reason, weight (kg), fee, pick_money,
  return_part_package`` plus ``hash`` when ``config["webhook_hash"]`` is set; resent once on non-200
  (``config["webhook_retries"] = 1``).

Operations for fault injection: ``fee``, ``create``, ``detail``, ``cancel``, ``label``.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from flask import Flask, Response, jsonify, request

from postal_bridge.domain.text import fold_place_name
from tests.fakes.courier_base import FakeCourier, FakeOrder, serve_main

VN_TZ = timezone(timedelta(hours=7))
TOKEN = "ghtk-test-token-8f2c1e"
SHOP = "S1234567"
WEBHOOK_SECRET = "ghtk-hook-secret-5d1a"

# A booked order (status 1) to delivered; the same GHTK codes serve both legs.
LIFECYCLE_RETURN: list[str] = ["2", "12", "3", "4", "5"]
LIFECYCLE_PICKUP: list[str] = ["2", "12", "3", "4", "5"]
PICKED_UP_CODE = "3"
CREATED_CODE = "1"
CANCELLABLE = ("1", "2", "12")
SUB_STATES = ("45", "49", "123", "127", "128", "410")

STATUS_TEXT = {
    "-1": "Hủy đơn hàng",
    "1": "Chưa tiếp nhận",
    "2": "Đã tiếp nhận",
    "3": "Đã lấy hàng/Đã nhập kho",
    "4": "Đã điều phối giao hàng/Đang giao hàng",
    "5": "Đã giao hàng/Chưa đối soát",
    "6": "Đã đối soát",
    "7": "Không lấy được hàng",
    "8": "Hoãn lấy hàng",
    "9": "Không giao được hàng",
    "10": "Delay giao hàng",
    "11": "Đã đối soát công nợ trả hàng",
    "12": "Đã điều phối lấy hàng/Đang lấy hàng",
    "13": "Đơn hàng bồi hoàn",
    "20": "Đang trả hàng (COD cầm hàng đi trả)",
    "21": "Đã trả hàng (COD đã trả xong hàng)",
    "123": "Shipper báo đã lấy hàng",
    "127": "Shipper báo không lấy được hàng",
    "128": "Shipper báo delay lấy hàng",
    "45": "Shipper báo đã giao hàng",
    "49": "Shipper báo không giao được giao hàng",
    "410": "Shipper báo delay giao hàng",
}

# GHTK addresses by name. Real 2025 wards (postal_bridge/data/admin_units_2025.csv) with their legacy district.
MASTER: dict[str, dict[str, str]] = {
    "Thành phố Hà Nội": {
        "Phường Ba Đình": "Quận Ba Đình",
        "Phường Ngọc Hà": "Quận Ba Đình",
        "Phường Giảng Võ": "Quận Ba Đình",
        "Phường Hoàn Kiếm": "Quận Hoàn Kiếm",
        "Phường Cửa Nam": "Quận Hoàn Kiếm",
    },
    "Tỉnh Tuyên Quang": {
        "Phường Minh Xuân": "Thành phố Tuyên Quang",
        "Phường Hà Giang 1": "Thành phố Hà Giang",
        "Phường Hà Giang 2": "Thành phố Hà Giang",
    },
}


def _find_place(province: str, district: str, ward: str) -> str | None:
    """None when GHTK can place the address, else the error message."""
    prov = next((p for p in MASTER if fold_place_name(p) == fold_place_name(province or "")), None)
    if prov is None:
        return f"Không tìm thấy tỉnh/thành phố {province!r}"
    wards = MASTER[prov]
    found = next((w for w in wards if fold_place_name(w) == fold_place_name(ward or "")), None)
    if found is None:
        return f"Không tìm thấy phường/xã {ward!r} thuộc {prov}"
    if district and fold_place_name(district) != fold_place_name(wards[found]):
        return f"Quận/huyện {district!r} không khớp với phường/xã {found}"
    return None


def _vn(at: datetime) -> datetime:
    return at.astimezone(VN_TZ).replace(microsecond=0)


def minimal_pdf(text: str) -> bytes:
    """A small valid one-page PDF (A6) naming the label; offsets in the xref table are exact."""
    safe = text.encode("ascii", "replace").decode().replace("(", "[").replace(")", "]")
    stream = f"BT /F1 14 Tf 20 380 Td (GHTK {safe}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 298 420] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for i, obj in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + obj + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for off in offsets:
        out += f"{off:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


class GHTKFake(FakeCourier):
    name = "ghtk"

    def __init__(self, *, shop: str = SHOP, **kw: Any) -> None:
        self.shop = shop
        super().__init__(**kw)
        self.config.update(
            {
                "tokens": [TOKEN],
                "expired_tokens": [],
                "client_source": None,
                "unserviceable_provinces": [],
                "webhook_format": "form",
                "webhook_hash": WEBHOOK_SECRET,
                "webhook_retries": 1,  # GHTK resends once on a non-200 answer
            }
        )

    # -- helpers -------------------------------------------------------------------------------------------------

    def _auth(self) -> Response | None:
        token = request.headers.get("Token", "")
        if token and token in self.config.get("expired_tokens", []):
            return jsonify(success=False, message="Token đã hết hạn, vui lòng tạo token mới")
        if token not in self.config.get("tokens", []):
            return Response(
                json.dumps({"success": False, "message": "Token không hợp lệ"}, ensure_ascii=False),
                status=403,
                mimetype="application/json",
            )
        wanted = self.config.get("client_source")
        if wanted and request.headers.get("X-Client-Source") != wanted:
            return Response(
                json.dumps({"success": False, "message": "X-Client-Source không hợp lệ"}, ensure_ascii=False),
                status=403,
                mimetype="application/json",
            )
        return None

    def _lookup(self, ref: str) -> FakeOrder | None:
        if ref.startswith("partner_id:"):
            return self.by_client_ref(ref.removeprefix("partner_id:"))
        with self.lock:
            return self.orders.get(ref)

    @staticmethod
    def main_event(order: FakeOrder) -> dict[str, Any]:
        """The last main-state event: the detail never shows courier-reported sub-states."""
        return next(e for e in reversed(order.events) if e["code"] not in SUB_STATES)

    def _fee(self, weight_g: int, transport: str, same_province: bool) -> int:
        steps = max(0, (weight_g - 1) // 500)
        fee = (16_500 if same_province else 30_000) + 2_500 * steps
        return int(fee * 1.4) if transport == "fly" else fee

    # -- routes --------------------------------------------------------------------------------------------------

    def build_routes(self, app: Flask) -> None:
        @app.get("/services/shipment/fee")
        def fee() -> Any:
            if (denied := self._auth()) is not None:
                return denied
            self.fault("fee")
            q = request.args
            for key in ("pick_province", "province", "weight"):
                if not q.get(key):
                    return jsonify(success=False, message=f"Thiếu tham số {key}")
            for prefix in ("pick_", ""):
                problem = _find_place(
                    q.get(f"{prefix}province", ""), q.get(f"{prefix}district", ""), q.get(f"{prefix}ward", "")
                )
                if problem:
                    return jsonify(success=False, message=problem)
            try:
                weight = int(float(q["weight"]))
            except ValueError:
                return jsonify(success=False, message="weight không hợp lệ")
            transport = q.get("transport", "road")
            unserviceable = {fold_place_name(p) for p in self.config.get("unserviceable_provinces", [])}
            deliverable = fold_place_name(q["province"]) not in unserviceable
            same = fold_place_name(q["province"]) == fold_place_name(q["pick_province"])
            amount = self._fee(weight, transport, same) if deliverable else 0
            value = int(float(q.get("value") or 0))
            insurance = value // 200 if value > 1_000_000 else 0
            return jsonify(
                success=True,
                message="",
                fee={
                    "name": "area1" if same else "area2",
                    "fee": amount,
                    "insurance_fee": insurance,
                    "include_vat": 0,
                    "cost_id": 0,
                    "delivery_type": "",
                    "a": 0,
                    "dt": "local" if same else "region",
                    "extFees": [],
                    "delivery": deliverable,
                },
            )

        @app.post("/services/shipment/order")
        def create() -> Any:
            if (denied := self._auth()) is not None:
                return denied
            self.fault("create")
            body = request.get_json(silent=True)
            if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
                return jsonify(success=False, message="Dữ liệu đơn hàng không hợp lệ")
            order, products = body["order"], body.get("products") or []
            missing = [
                k
                for k in (
                    "id",
                    "pick_name",
                    "pick_address",
                    "pick_province",
                    "pick_tel",
                    "name",
                    "address",
                    "province",
                    "tel",
                    "hamlet",
                )
                if order.get(k) in (None, "")
            ]
            if order.get("pick_money") is None:
                missing.append("pick_money")
            if missing:
                return jsonify(success=False, message=f"Thiếu thông tin: {', '.join(missing)}")
            if not products or any(not p.get("name") or p.get("weight") in (None, "") for p in products):
                return jsonify(success=False, message="Thiếu thông tin sản phẩm (name, weight)")
            for prefix in ("pick_", ""):
                problem = _find_place(
                    order.get(f"{prefix}province", ""),
                    order.get(f"{prefix}district", ""),
                    order.get(f"{prefix}ward", ""),
                )
                if problem:
                    return jsonify(success=False, message=problem)
            in_grams = order.get("weight_option") == "gram"
            weight_g = int(
                sum(float(p["weight"]) * int(p.get("quantity") or 1) * (1 if in_grams else 1000) for p in products)
            )
            if weight_g > 20_000 or weight_g <= 0:
                return jsonify(success=False, message=f"Khối lượng {weight_g} g không hợp lệ")
            with self.lock:
                existing = self.by_client_ref(str(order["id"]))
                if existing is not None:
                    return jsonify(
                        success=False,
                        message="Mã đơn hàng đã tồn tại trên hệ thống",
                        error={
                            "code": "ORDER_ID_EXIST",
                            "partner_id": existing.client_ref,
                            "ghtk_label": existing.ref,
                            "created": _vn(existing.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                            "status": int(self.main_event(existing)["code"]),
                        },
                        log_id=f"log{self.next_seq():06d}",
                    )
                n = 1_737_347_100 + self.next_seq()
                label = f"{self.shop}.A1.{n}"
                same = fold_place_name(order["province"]) == fold_place_name(order["pick_province"])
                fee = self._fee(weight_g, order.get("transport", "road"), same)
                value = int(float(order.get("value") or 0))
                insurance = value // 200 if value > 1_000_000 else 0
                record = self.add_order(
                    label,
                    str(order["id"]),
                    {**body, "tracking_id": n, "fee": fee, "insurance_fee": insurance, "weight_g": weight_g},
                    CREATED_CODE,
                )
                record.events.append({"code": CREATED_CODE, "at": record.created_at, "reason": None})
            self.fault("create", after_commit=True)
            today = _vn(record.created_at)
            return jsonify(
                success=True,
                message="Các đơn hàng đã được add vào hệ thống GHTK thành công.",
                order={
                    "partner_id": record.client_ref,
                    "label": label,
                    "area": "1" if same else "2",
                    "fee": str(fee),
                    "insurance_fee": str(insurance),
                    "estimated_pick_time": f"Chiều {today:%Y-%m-%d}",
                    "estimated_deliver_time": f"Sáng {(today + timedelta(days=2)):%Y-%m-%d}",
                    "products": [],
                    "status_id": int(CREATED_CODE),
                    "tracking_id": n,
                    "sorting_code": "HN.B1",
                },
            )

        @app.get("/services/shipment/v2/<path:ref>")
        def detail(ref: str) -> Any:
            if (denied := self._auth()) is not None:
                return denied
            self.fault("detail")
            order = self._lookup(ref)
            if order is None:
                return jsonify(success=False, message="Không tìm thấy đơn hàng")
            main = self.main_event(order)
            data = order.data["order"]
            return jsonify(
                success=True,
                message="",
                order={
                    "label_id": order.ref,
                    "partner_id": order.client_ref,
                    "status": main["code"],
                    "status_text": STATUS_TEXT.get(main["code"], ""),
                    "created": _vn(order.created_at).strftime("%Y-%m-%d %H:%M:%S"),
                    "modified": _vn(main["at"]).strftime("%Y-%m-%d %H:%M:%S"),
                    "message": data.get("note", ""),
                    "pick_date": _vn(order.created_at).strftime("%Y-%m-%d"),
                    "deliver_date": "",
                    "customer_fullname": data.get("name", ""),
                    "customer_tel": data.get("tel", ""),
                    "address": ", ".join(p for p in (data.get("address"), data.get("ward"), data.get("province")) if p),
                    "storage_day": 0,
                    "ship_money": order.data["fee"],
                    "insurance": order.data["insurance_fee"],
                    "value": int(float(data.get("value") or 0)),
                    "weight": order.data["weight_g"],
                    "pick_money": int(data.get("pick_money") or 0),
                    "is_freeship": int(data.get("is_freeship") or 0),
                },
            )

        @app.post("/services/shipment/cancel/<path:ref>")
        def cancel(ref: str) -> Any:
            if (denied := self._auth()) is not None:
                return denied
            self.fault("cancel")
            order = self._lookup(ref)
            if order is None:
                return jsonify(success=False, message="Không tìm thấy đơn hàng")
            with self.lock:
                state = self.main_event(order)["code"]
                if state == "-1":
                    return jsonify(success=False, message="Đơn hàng đã bị hủy trước đó")
                if state not in CANCELLABLE:
                    return jsonify(
                        success=False,
                        message=f"Không thể hủy đơn hàng ở trạng thái {STATUS_TEXT.get(state, state)}",
                    )
                order.cancelled = True
            self.advance(order.ref, "-1")
            return jsonify(success=True, message="", log_id=f"log{self.next_seq():06d}")

        @app.get("/services/label/<path:label>")
        def label(label: str) -> Any:
            if (denied := self._auth()) is not None:
                return denied
            self.fault("label")
            order = self._lookup(label)
            if order is None:
                return jsonify(success=False, message="Không tìm thấy đơn hàng")
            return Response(minimal_pdf(order.ref), status=200, mimetype="application/pdf")

        @app.get("/services/shipment/list_pick_add")
        def pick_addresses() -> Any:
            if (denied := self._auth()) is not None:
                return denied
            return jsonify(
                success=True,
                data=[
                    {
                        "pick_address_id": "1",
                        "address": "Số 1 Phố Điện Biên Phủ, Phường Ba Đình, Thành phố Hà Nội",
                        "pick_tel": "0912345678",
                        "pick_name": "Bộ phận Một cửa",
                    }
                ],
            )

    # -- webhook -------------------------------------------------------------------------------------------------

    def webhook_fields(self, order: FakeOrder, event: dict[str, Any]) -> dict[str, Any]:
        data = order.data["order"]
        fields: dict[str, Any] = {
            "partner_id": order.client_ref,
            "label_id": order.ref,
            "status_id": str(event["code"]),
            "action_time": _vn(event["at"]).isoformat(),
            "reason_code": str(event.get("reason_code") or ""),
            "reason": str(event.get("reason") or ""),
            "weight": round(order.data["weight_g"] / 1000, 3),
            "fee": order.data["fee"],
            "pick_money": int(data.get("pick_money") or 0),
            "return_part_package": 0,
        }
        if self.config.get("webhook_hash"):
            fields["hash"] = self.config["webhook_hash"]
        return fields

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        fields = self.webhook_fields(order, event)
        if self.config.get("webhook_format") == "json":
            return json.dumps(fields, ensure_ascii=False).encode(), {"Content-Type": "application/json"}
        form = urlencode({k: str(v) for k, v in fields.items()})
        return form.encode(), {"Content-Type": "application/x-www-form-urlencoded"}


def make() -> GHTKFake:
    return GHTKFake()


def agency_settings(base_url: str) -> dict[str, str]:
    """Carrier settings that work against this fake (``postal-bridge carrier-settings``)."""
    return {
        "base_url": base_url,
        "token": TOKEN,
        "shop_id": SHOP,
        "webhook_secret": WEBHOOK_SECRET,
        "webhook_auth": "hash",
        "services": "standard,express",
    }


if __name__ == "__main__":
    serve_main(make())
