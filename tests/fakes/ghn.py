"""A fake GHN public API v2 (reference/carriers.md §2.3 and §5.5), speaking GHN's wire format.

- Paths as on ``online-gateway.ghn.vn``: ``/shiip/public-api/...`` for the API and ``/a5/public-api/printA5`` (also
  ``print80x80``, ``print52x70``) for the printed label, so ``base_url`` = ``<fake>/shiip/public-api``.
- Auth: the ``Token`` header on every API call (header names are case-insensitive), ``ShopId`` on ``/v2/*``; a wrong
  one gets HTTP 401 with the envelope ``{code: 401, message, data: null}`` [?: GHN's exact wording is unknown].
- Envelope ``{code, message, data}``; errors carry a non-200 ``code``, a Vietnamese ``message``, ``code_message``.
- Master data seeded with 2025 wards placed under their legacy GHN district (ids are illustrative, GHN-shaped).
- Create validates the fields GHN requires, answers a reused ``client_order_code`` with a code-400 envelope (message
  configurable: ``config["duplicate_message"]``), generates 6-character upper-case order codes, starts orders in
  ``ready_to_pick``. Cancel only from ``ready_to_pick``/``picking``, else code 400.
- Print tokens live ``config["print_token_ttl"]`` seconds (GHN: ~30 minutes); ``expire_tokens()`` (or ``POST
  /__fake/expire-tokens``) expires every issued one, to test the adapter's regeneration.
- Webhook: PascalCase body, ``Type=switch_status``, Basic auth (``config["webhook_auth"]="basic"``) or a custom header
  (``"header"``, name ``config["webhook_header"]``), secret ``config["webhook_secret"]``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from datetime import UTC, datetime, timedelta
from html import escape
from typing import Any

from flask import Flask, Response, request

from tests.fakes.courier_base import FakeCourier, FakeOrder, serve_main

API = "/shiip/public-api"
PRINT = "/a5/public-api"
TOKEN = "ghn-fake-token-6f1c2a"
SHOP_ID = 885123
WEBHOOK_USER = "ghn"
WEBHOOK_SECRET = "ghn-fake-webhook-secret"

LIFECYCLE_RETURN = ["picking", "picked", "storing", "transporting", "sorting", "delivering", "delivered"]
LIFECYCLE_PICKUP = ["picking", "money_collect_picking", "picked", "storing", "transporting", "delivering", "delivered"]
PICKED_UP_CODE = "picked"
CANCELLABLE = ("ready_to_pick", "picking")

STATUS_TEXT = {
    "ready_to_pick": "Mới tạo đơn hàng",
    "picking": "Nhân viên đang lấy hàng",
    "money_collect_picking": "Đang thu tiền người gửi",
    "picked": "Nhân viên đã lấy hàng",
    "storing": "Hàng đang nằm ở kho",
    "transporting": "Đang luân chuyển hàng",
    "sorting": "Đang phân loại hàng hóa",
    "delivering": "Nhân viên đang giao cho người nhận",
    "money_collect_delivering": "Nhân viên đang thu tiền người nhận",
    "delivered": "Nhân viên đã giao hàng thành công",
    "delivery_fail": "Nhân viên giao hàng thất bại",
    "waiting_to_return": "Đang đợi trả hàng về cho người gửi",
    "return": "Trả hàng",
    "return_transporting": "Đang luân chuyển hàng trả",
    "return_sorting": "Đang phân loại hàng trả",
    "returning": "Nhân viên đang đi trả hàng",
    "return_fail": "Nhân viên trả hàng thất bại",
    "returned": "Nhân viên trả hàng thành công",
    "exception": "Đơn hàng ngoại lệ không nằm trong quy trình",
    "damage": "Hàng bị hư hỏng",
    "lost": "Hàng bị mất",
    "cancel": "Hủy đơn hàng",
}

# GHN master data: provinces, legacy districts, and the 2025 wards (names from admin_units_2025.csv) under them.
PROVINCES = [
    {"ProvinceID": 201, "ProvinceName": "Hà Nội", "Code": "4", "NameExtension": ["Hà Nội", "TP.Hà Nội", "HN"]},
    {
        "ProvinceID": 202,
        "ProvinceName": "Hồ Chí Minh",
        "Code": "8",
        "NameExtension": ["TP.Hồ Chí Minh", "Thành phố Hồ Chí Minh", "HCM", "Sài Gòn"],
    },
    {"ProvinceID": 264, "ProvinceName": "Tuyên Quang", "Code": "27", "NameExtension": ["Tỉnh Tuyên Quang"]},
]
DISTRICTS = [
    {"DistrictID": 1484, "ProvinceID": 201, "DistrictName": "Quận Ba Đình", "Code": "0101"},
    {"DistrictID": 1489, "ProvinceID": 201, "DistrictName": "Quận Hoàn Kiếm", "Code": "0102"},
    {"DistrictID": 1442, "ProvinceID": 202, "DistrictName": "Quận 1", "Code": "0201"},
    {"DistrictID": 1816, "ProvinceID": 264, "DistrictName": "Thành phố Tuyên Quang", "Code": "2701"},
]
WARDS = [
    {"WardCode": "1A0107", "DistrictID": 1484, "WardName": "Phường Ba Đình", "NameExtension": ["P.Ba Đình"]},
    {"WardCode": "1A0101", "DistrictID": 1484, "WardName": "Phường Ngọc Hà", "NameExtension": ["P.Ngọc Hà"]},
    {"WardCode": "1A0110", "DistrictID": 1484, "WardName": "Phường Giảng Võ", "NameExtension": []},
    {"WardCode": "1A0201", "DistrictID": 1489, "WardName": "Phường Hoàn Kiếm", "NameExtension": []},
    {"WardCode": "1A0204", "DistrictID": 1489, "WardName": "Phường Cửa Nam", "NameExtension": []},
    {"WardCode": "21211", "DistrictID": 1442, "WardName": "Phường Sài Gòn", "NameExtension": ["P.Sài Gòn"]},
    {"WardCode": "21212", "DistrictID": 1442, "WardName": "Phường Bến Thành", "NameExtension": []},
    {"WardCode": "130101", "DistrictID": 1816, "WardName": "Phường Minh Xuân", "NameExtension": ["P.Minh Xuân"]},
    {"WardCode": "130104", "DistrictID": 1816, "WardName": "Phường Nông Tiến", "NameExtension": []},
    {"WardCode": "130110", "DistrictID": 1816, "WardName": "Phường An Tường", "NameExtension": []},
]
SERVICES = [
    {"service_id": 53320, "short_name": "Hàng nhẹ", "service_type_id": 2},
    {"service_id": 100039, "short_name": "Hàng nặng", "service_type_id": 5},
]
REQUIRED_CREATE_FIELDS = ("to_name", "to_phone", "to_address", "to_ward_code", "to_district_id", "weight")


def envelope(data: Any, message: str = "Success") -> Response:
    return _json({"code": 200, "message": message, "data": data}, 200)


def error(code: int, message: str, code_message: str = "USER_ERR_COMMON", http: int | None = None) -> Response:
    return _json({"code": code, "message": message, "data": None, "code_message": code_message}, http or code)


def _json(body: dict, status: int) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status, mimetype="application/json")


def ghn_time(at: datetime) -> str:
    """GHN's timestamps: ISO 8601 in UTC with milliseconds and ``Z``."""
    at = at.astimezone(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


class GHNFake(FakeCourier):
    name = "ghn"

    def __init__(self, *, token: str = TOKEN, shop_id: int = SHOP_ID, **kw: Any) -> None:
        self.token = token
        self.shop_id = shop_id
        self.print_tokens: dict[str, tuple[list[str], float]] = {}
        super().__init__(**kw)
        self.config.update(
            {
                "webhook_auth": "basic",
                "webhook_user": WEBHOOK_USER,
                "webhook_secret": WEBHOOK_SECRET,
                "webhook_header": "X-GHN-Token",
                "print_token_ttl": 1800,
                "duplicate_message": "Mã đơn hàng client_order_code đã tồn tại",
                "unserviceable_districts": [],
            }
        )

    # -- helpers -------------------------------------------------------------------------------------------------

    def _auth(self, *, shop: bool) -> Response | None:
        if request.headers.get("Token", "") != self.token:
            return error(401, "Token không hợp lệ", "USER_ERR_TOKEN")
        if shop and request.headers.get("ShopId", "") != str(self.shop_id):
            return error(401, "ShopId không hợp lệ hoặc không thuộc tài khoản", "USER_ERR_SHOP")
        return None

    @staticmethod
    def _body() -> dict[str, Any]:
        body = request.get_json(silent=True)
        if isinstance(body, dict):
            return body
        return {k: v for k, v in request.args.items()}

    def _order_code(self, client_ref: str) -> str:
        digest = int(hashlib.sha256(f"{client_ref}|{self.next_seq()}".encode()).hexdigest(), 16)
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        chars = []
        for _ in range(5):
            digest, i = divmod(digest, len(alphabet))
            chars.append(alphabet[i])
        code = "L" + "".join(chars)
        return code if code not in self.orders else self._order_code(client_ref + "'")

    @staticmethod
    def _fee(body: dict[str, Any]) -> dict[str, int]:
        weight = int(body.get("weight") or 0)
        steps = max(0, (weight - 1) // 500)
        same = _province_of(body.get("from_district_id")) == _province_of(body.get("to_district_id"))
        main = 22_000 + 5_000 * steps + (0 if same else 8_000)
        if int(body.get("service_type_id") or 2) == 5:
            main += 15_000
        insurance = int(int(body.get("insurance_value") or 0) * 0.005)
        cod = int(int(body.get("cod_amount") or 0) * 0.01)
        return {
            "total": main + insurance + cod,
            "service_fee": main,
            "insurance_fee": insurance,
            "pick_station_fee": 0,
            "coupon_value": 0,
            "r2s_fee": 0,
            "return_again_fee": 0,
            "document_return": 0,
            "double_check": 0,
            "cod_fee": cod,
            "pick_remote_areas_fee": 0,
            "deliver_remote_areas_fee": 0,
            "cod_failed_fee": 0,
        }

    def _detail(self, order: FakeOrder) -> dict[str, Any]:
        d = order.data
        picked = next((e["at"] for e in order.events if e["code"] == PICKED_UP_CODE), None)
        finished = next((e["at"] for e in order.events if e["code"] in ("delivered", "returned")), None)
        return {
            "shop_id": self.shop_id,
            "client_id": 2500001,
            "order_code": order.ref,
            "client_order_code": order.client_ref,
            "status": order.status,
            "from_name": d.get("from_name"),
            "from_phone": d.get("from_phone"),
            "from_address": d.get("from_address"),
            "to_name": d.get("to_name"),
            "to_phone": d.get("to_phone"),
            "to_address": d.get("to_address"),
            "to_ward_code": d.get("to_ward_code"),
            "to_district_id": d.get("to_district_id"),
            "weight": d.get("weight"),
            "content": d.get("content"),
            "cod_amount": d.get("cod_amount", 0),
            "insurance_value": d.get("insurance_value", 0),
            "payment_type_id": d.get("payment_type_id"),
            "items": d.get("items") or [],
            "total_fee": d.get("_total_fee"),
            "leadtime": ghn_time(order.created_at + timedelta(days=2)),
            "leadtime_order": {
                "from_estimate_date": ghn_time(order.created_at + timedelta(days=1)),
                "to_estimate_date": ghn_time(order.created_at + timedelta(days=2)),
                "picked_date": ghn_time(picked) if picked else None,
                "returned_date": None,
            },
            "finish_date": ghn_time(finished) if finished else None,
            "created_date": ghn_time(order.created_at),
            "updated_date": ghn_time(order.events[-1]["at"] if order.events else order.created_at),
            "log": [{"status": e["code"], "updated_date": ghn_time(e["at"])} for e in order.events],
        }

    def expire_tokens(self) -> None:
        with self.lock:
            self.print_tokens = {t: (codes, 0.0) for t, (codes, _) in self.print_tokens.items()}

    # -- routes --------------------------------------------------------------------------------------------------

    def build_routes(self, app: Flask) -> None:
        @app.post("/__fake/expire-tokens")
        def _expire() -> Response:
            self.expire_tokens()
            return _json({"ok": True}, 200)

        @app.route(f"{API}/master-data/province", methods=["GET", "POST"])
        def provinces() -> Response:
            self.fault("master_data")
            return self._auth(shop=False) or envelope(PROVINCES)

        @app.route(f"{API}/master-data/district", methods=["GET", "POST"])
        def districts() -> Response:
            self.fault("master_data")
            if denied := self._auth(shop=False):
                return denied
            pid = _int(self._body().get("province_id"))
            return envelope([d for d in DISTRICTS if pid is None or d["ProvinceID"] == pid])

        @app.route(f"{API}/master-data/ward", methods=["GET", "POST"])
        def wards() -> Response:
            self.fault("master_data")
            if denied := self._auth(shop=False):
                return denied
            did = _int(self._body().get("district_id"))
            if did is None:
                return error(400, "Thiếu district_id")
            return envelope([w for w in WARDS if w["DistrictID"] == did])

        @app.post(f"{API}/v2/shipping-order/available-services")
        def available_services() -> Response:
            self.fault("services")
            if denied := self._auth(shop=True):
                return denied
            body = self._body()
            known = {d["DistrictID"] for d in DISTRICTS}
            src, dst = _int(body.get("from_district")), _int(body.get("to_district"))
            if src not in known or dst not in known:
                return error(400, "Quận/huyện không hợp lệ")
            if dst in self.config.get("unserviceable_districts", []):
                return envelope(None)
            return envelope(SERVICES)

        @app.post(f"{API}/v2/shipping-order/fee")
        def fee() -> Response:
            self.fault("fee")
            if denied := self._auth(shop=True):
                return denied
            body = self._body()
            if not _ward_in_district(body.get("to_ward_code"), body.get("to_district_id")):
                return error(400, "Phường/xã nhận không thuộc quận/huyện nhận")
            return envelope(self._fee(body))

        @app.post(f"{API}/v2/shipping-order/leadtime")
        def leadtime() -> Response:
            self.fault("leadtime")
            if denied := self._auth(shop=True):
                return denied
            body = self._body()
            now = datetime.now(UTC)
            same = _province_of(body.get("from_district_id")) == _province_of(body.get("to_district_id"))
            due = now + timedelta(days=1 if same else 2)
            return envelope(
                {
                    "leadtime": int(due.timestamp()),
                    "order_date": int(now.timestamp()),
                    "leadtime_order": {"from_estimate_date": ghn_time(due), "to_estimate_date": ghn_time(due)},
                }
            )

        @app.post(f"{API}/v2/shipping-order/create")
        def create() -> Response:
            self.fault("create")
            if denied := self._auth(shop=True):
                return denied
            body = self._body()
            missing = [f for f in REQUIRED_CREATE_FIELDS if body.get(f) in (None, "")]
            if not (body.get("service_type_id") or body.get("service_id")):
                missing.append("service_type_id")
            if body.get("payment_type_id") not in (1, 2):
                missing.append("payment_type_id")
            if body.get("required_note") not in ("CHOTHUHANG", "CHOXEMHANGKHONGTHU", "KHONGCHOXEMHANG"):
                missing.append("required_note")
            if missing:
                return error(400, f"Thông tin không hợp lệ: {', '.join(missing)}")
            if not _ward_in_district(body.get("to_ward_code"), body.get("to_district_id")):
                return error(400, "Phường/xã nhận không thuộc quận/huyện nhận")
            client_ref = str(body.get("client_order_code") or "")
            with self.lock:
                if client_ref and self.by_client_ref(client_ref) is not None:
                    return error(400, str(self.config["duplicate_message"]))
                fees = self._fee(body)
                code = self._order_code(client_ref)
                order = self.add_order(code, client_ref, {**body, "_total_fee": fees["total"]}, "ready_to_pick")
            self.fault("create", after_commit=True)
            return envelope(
                {
                    "order_code": order.ref,
                    "sort_code": "190-G-01-A6",
                    "trans_type": "truck",
                    "ward_encode": "",
                    "district_encode": "",
                    "fee": {
                        "main_service": fees["service_fee"],
                        "insurance": fees["insurance_fee"],
                        "station_do": 0,
                        "station_pu": 0,
                        "return": 0,
                        "r2s": 0,
                        "coupon": 0,
                    },
                    "total_fee": fees["total"],
                    "expected_delivery_time": ghn_time(order.created_at + timedelta(days=2)),
                },
                "Success",
            )

        @app.post(f"{API}/v2/shipping-order/detail")
        def detail() -> Response:
            self.fault("detail")
            if denied := self._auth(shop=True):
                return denied
            order = self.orders.get(str(self._body().get("order_code") or ""))
            if order is None:
                return error(400, "Đơn hàng không tồn tại", "ORDER_NOT_FOUND")
            return envelope(self._detail(order))

        @app.post(f"{API}/v2/shipping-order/detail-by-client-code")
        def detail_by_client_code() -> Response:
            self.fault("lookup")
            if denied := self._auth(shop=True):
                return denied
            order = self.by_client_ref(str(self._body().get("client_order_code") or ""))
            if order is None:
                return error(400, "Đơn hàng không tồn tại", "ORDER_NOT_FOUND")
            return envelope(self._detail(order))

        @app.post(f"{API}/v2/switch-status/cancel")
        def cancel() -> Response:
            self.fault("cancel")
            if denied := self._auth(shop=True):
                return denied
            codes = self._body().get("order_codes") or []
            with self.lock:
                orders = [self.orders.get(str(c)) for c in codes]
                if not codes or any(o is None for o in orders):
                    return error(400, "Đơn hàng không tồn tại", "ORDER_NOT_FOUND")
                refused = [o.ref for o in orders if o.status not in CANCELLABLE]
                if refused:
                    return error(400, f"Đơn hàng {', '.join(refused)} không thể hủy ở trạng thái hiện tại")
                for o in orders:
                    o.status, o.cancelled = "cancel", True
                    o.events.append({"code": "cancel", "at": datetime.now(UTC), "reason": None})
            return envelope([{"order_code": o.ref, "result": True, "message": "OK"} for o in orders])

        @app.post(f"{API}/v2/a5/gen-token")
        def gen_token() -> Response:
            self.fault("gen_token")
            if denied := self._auth(shop=True):
                return denied
            codes = [str(c) for c in self._body().get("order_codes") or []]
            if not codes or any(c not in self.orders for c in codes):
                return error(400, "Đơn hàng không tồn tại", "ORDER_NOT_FOUND")
            token = hashlib.sha256(f"print|{','.join(codes)}|{self.next_seq()}".encode()).hexdigest()[:32]
            with self.lock:
                self.print_tokens[token] = (codes, time.monotonic() + float(self.config["print_token_ttl"]))
            return envelope({"token": token})

        for size in ("printA5", "print80x80", "print52x70"):
            app.add_url_rule(f"{PRINT}/{size}", f"print_{size}", self._print_view(size), methods=["GET"])

    def _print_view(self, size: str):
        def view() -> Response:
            self.fault("print")
            with self.lock:
                hit = self.print_tokens.get(request.args.get("token", ""))
            if hit is None or hit[1] <= time.monotonic():
                return error(400, "Token không hợp lệ hoặc đã hết hạn", "PRINT_TOKEN_INVALID")
            pages = []
            for code in hit[0]:
                o = self.orders[code]
                pages.append(
                    f'<div class="label {size}"><h1>{escape(o.ref)}</h1><p>190-G-01-A6</p>'
                    f"<p>Mã đơn shop: {escape(o.client_ref)}</p>"
                    f"<p>Người nhận: {escape(str(o.data.get('to_name')))} – {escape(str(o.data.get('to_address')))}"
                    f"</p></div>"
                )
            html = f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>GHN {size}</title></head><body>'
            return Response(html + "".join(pages) + "</body></html>", mimetype="text/html")

        return view

    # -- webhook -------------------------------------------------------------------------------------------------

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        d = order.data
        total = int(d.get("_total_fee") or 0)
        body = {
            "CODAmount": int(d.get("cod_amount") or 0),
            "CODTransferDate": event.get("cod_transfer_date"),
            "ClientOrderCode": order.client_ref,
            "ConvertedWeight": int(d.get("weight") or 0),
            "Description": STATUS_TEXT.get(event["code"], event["code"]),
            "Fee": {
                "CODFailedFee": 0,
                "CODFee": 0,
                "Coupon": 0,
                "DeliverRemoteAreasFee": 0,
                "DocumentReturn": 0,
                "DoubleCheck": 0,
                "Insurance": 0,
                "MainService": total,
                "PickRemoteAreasFee": 0,
                "R2S": 0,
                "Return": 0,
                "StationDO": 0,
                "StationPU": 0,
                "Total": total,
            },
            "Height": int(d.get("height") or 0),
            "IsPartialReturn": False,
            "Length": int(d.get("length") or 0),
            "OrderCode": order.ref,
            "PartialReturnCode": "",
            "PaymentType": int(d.get("payment_type_id") or 1),
            "Reason": event.get("reason") or "",
            "ReasonCode": event.get("reason_code") or "",
            "ShopID": self.shop_id,
            "Status": event["code"],
            "Time": ghn_time(event["at"]),
            "TotalFee": total,
            "Type": event.get("type") or "switch_status",
            "Warehouse": event.get("warehouse") or "Bưu Cục 10 Ngọc Hà-Ba Đình-HN",
            "Weight": int(d.get("weight") or 0),
            "Width": int(d.get("width") or 0),
        }
        headers = {"Content-Type": "application/json"}
        secret = str(self.config.get("webhook_secret") or "")
        if self.config.get("webhook_auth") == "header":
            headers[str(self.config["webhook_header"])] = secret
        else:
            pair = f"{self.config.get('webhook_user', WEBHOOK_USER)}:{secret}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
        return json.dumps(body, ensure_ascii=False).encode("utf-8"), headers


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _province_of(district_id: Any) -> int | None:
    did = _int(district_id)
    return next((d["ProvinceID"] for d in DISTRICTS if d["DistrictID"] == did), None)


def _ward_in_district(ward_code: Any, district_id: Any) -> bool:
    did = _int(district_id)
    return any(w["WardCode"] == str(ward_code) and w["DistrictID"] == did for w in WARDS)


def make() -> GHNFake:
    return GHNFake()


def agency_settings(base_url: str) -> dict[str, str]:
    """Carrier settings that make an agency use this fake (``base_url`` = where the fake listens)."""
    root = base_url.rstrip("/")
    if root.endswith(API):
        root = root[: -len(API)]
    return {
        "base_url": f"{root}{API}",
        "token": TOKEN,
        "shop_id": str(SHOP_ID),
        "webhook_auth": "basic",
        "webhook_user": WEBHOOK_USER,
        "webhook_secret": WEBHOOK_SECRET,
    }


if __name__ == "__main__":
    serve_main(make())
