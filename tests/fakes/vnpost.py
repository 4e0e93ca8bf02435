"""Fake VNPost servers speaking the three real wire formats (carriers.md §2.1, §5.5), one ``FakeCourier`` each:

- ``FakeVNPostDonhang`` — ``/api/api/…``: ``MobileAuthentication/GetAccessToken {TenDangNhap, MatKhau}`` →
  ``{IsSuccess, Token, ErrorMessage}``; ``h-token`` on every other call (bad/expired → 401 with ASP.NET's
  ``{"Message": "Authorization has been denied for this request."}``); ``TinhThanh|QuanHuyen|PhuongXa/GetAll``;
  ``CustomerConnect/TinhCuocTatCaDichVu``; ``CustomerConnect/CreateOrder`` (S10 ``ItemCode``: ``EL…VN`` for EMS,
  ``CP…VN`` for parcels; a reused ``OrderCode`` → 400 ``{IsSuccess: false, ErrorMessage}``, message configurable
  because the real answer is unknown [?]); ``CustomerConnect/CancelOrder {OrderId}`` (only before acceptance, 70);
  push ``{Data: <JSON string>, SendDate, SignData}`` signed HMAC-SHA256(Data, secret) hex — our assumption [?].
- ``FakeVNPostMyVNPost`` — ``/MYVNP_API/customer-partner/…``: ``GetAccessToken {username, password, customerCode}``
  → ``{token}``; header ``token``; ``getAllProvince|getAllDistrict|getAllCommune``; ``ServicesCharge``;
  ``CreateOrder`` → ``{originalID, status, totalFee}``; errors non-200 ``{message}``; ``orderCancel {OriginalId}`` →
  ``[{caseId}]`` (only before 6); push: a JSON array of ``{originalId, status, …}`` to a secret path.
- ``FakeVNPostNGSP`` — ``POST /token`` (client credentials, Basic, form) → ``{access_token, token_type, expires_in}``;
  Bearer on ``/apiVNPostNGSP/p1.0/order/{post,cancel,tracking}`` (bad → WSO2 ``{"fault": {code 900901}}``); the
  feed ``?pagesize&lastId`` → ``{_embedded: {"rh:doc": [{_id: {$oid}, orderNumber, statusCode, statusMessage}]}}``
  in insertion order; no push.

Master data: real 2025 wards of Hà Nội (Phường Ba Đình, Ngọc Hà, Hoàn Kiếm, Cửa Nam — the last one listed under two
legacy districts, as merged wards are) and Tuyên Quang (Phường Minh Xuân), under VNPost's postal-code ids.

``python -m tests.fakes.vnpost --api donhang|myvnpost|ngsp --port N`` runs one by hand.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import secrets
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from flask import Flask, Response, request

from postal_bridge.domain import s10
from tests.fakes.courier_base import FakeCourier, FakeOrder, serve_main

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")

# (VNPost province id, name), (district id, name, province id), (ward id, name, district id)
PROVINCES = [("10", "Hà Nội"), ("22", "Tuyên Quang"), ("70", "Hồ Chí Minh")]
DISTRICTS = [
    ("1000", "Quận Hoàn Kiếm", "10"),
    ("1110", "Quận Ba Đình", "10"),
    ("1160", "Quận Đống Đa", "10"),
    ("2210", "Thành phố Tuyên Quang", "22"),
    ("7270", "Quận 7", "70"),
]
WARDS = [
    ("11106", "Phường Ba Đình", "1110"),
    ("11107", "Phường Ngọc Hà", "1110"),
    ("10010", "Phường Hoàn Kiếm", "1000"),
    ("10020", "Phường Cửa Nam", "1000"),
    ("11620", "Phường Cửa Nam", "1160"),
    ("22106", "Phường Minh Xuân", "2210"),
    ("72710", "Phường Tân Thuận", "7270"),
]

LIFECYCLE_RETURN: dict[str, list[str]] = {
    "donhang": ["20", "70", "100"],
    "myvnpost": ["1", "6", "10", "11", "12", "14"],
    "ngsp": ["1", "2", "3"],
}
LIFECYCLE_PICKUP: dict[str, list[str]] = {
    "donhang": ["20", "70", "100"],
    "myvnpost": ["1", "2", "4", "6", "10", "12", "14"],
    "ngsp": ["1", "2", "3"],
}
PICKED_UP_CODE: dict[str, str] = {"donhang": "70", "myvnpost": "6", "ngsp": "2"}

USERNAME, PASSWORD, CUSTOMER_CODE = "buudien_hanoi", "mat-khau-fake", "C000208283"
DONHANG_SECRET = "donhang-sign-key-fake"
MYVNPOST_PATH_TOKEN = "myvnpost-path-token-fake"
NGSP_CLIENT_ID, NGSP_CLIENT_SECRET = "ngsp-consumer-key", "ngsp-consumer-secret"


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data, ensure_ascii=False), status=status, mimetype="application/json")


def _vn_time(at: datetime) -> str:
    return at.astimezone(VN_TZ).strftime("%d/%m/%Y %H:%M:%S")


def _fee(weight_g: int, express: bool) -> int:
    fee = 16_500 + 2_500 * max(0, (int(weight_g) - 1) // 500)
    return int(fee * 1.6) if express else fee


class _TokenFake(FakeCourier):
    """Token bookkeeping shared by the three fakes: issue, check, expire."""

    def __init__(self, **kw: Any) -> None:
        self.tokens: dict[str, float] = {}
        super().__init__(**kw)
        self.config.setdefault("token_ttl", 3600)
        self.config.setdefault("duplicate_message", "Mã đơn hàng đã tồn tại trong hệ thống")

    def issue_token(self) -> str:
        token = secrets.token_hex(16)
        with self.lock:
            self.tokens[token] = time.time() + float(self.config["token_ttl"])
        return token

    def token_ok(self, token: str | None) -> bool:
        with self.lock:
            return bool(token) and self.tokens.get(token or "", 0) > time.time()

    def expire_tokens(self) -> None:
        """Every issued token is now expired (the next call gets the courier's 401)."""
        with self.lock:
            self.tokens = dict.fromkeys(self.tokens, 0.0)

    def s10_code(self, prefix: str) -> str:
        return s10.make(prefix, 10_000_000 + self.next_seq() * 7919 % 89_999_999, "VN")

    def _expire_route(self, app: Flask) -> None:
        @app.post("/__fake/expire-tokens")
        def _expire() -> Response:
            self.expire_tokens()
            return _json({"ok": True})


# ---------------------------------------------------------------------------------------------------------------------
# donhang
# ---------------------------------------------------------------------------------------------------------------------


class FakeVNPostDonhang(_TokenFake):
    name = "vnpost-donhang"
    api = "donhang"
    CANCELLABLE = frozenset({"20", "61"})
    REQUIRED = (
        "SenderTel",
        "SenderFullname",
        "SenderAddress",
        "SenderProvinceId",
        "SenderDistrictId",
        "ReceiverTel",
        "ReceiverFullname",
        "ReceiverAddress",
        "ReceiverProvinceId",
        "ReceiverDistrictId",
        "ServiceName",
        "OrderCode",
    )

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.config.setdefault("webhook_secret", DONHANG_SECRET)

    def _auth(self) -> Response | None:
        if not self.token_ok(request.headers.get("h-token")):
            return _json({"Message": "Authorization has been denied for this request."}, 401)
        return None

    def build_routes(self, app: Flask) -> None:
        self._expire_route(app)
        base = "/api/api/"

        @app.post(base + "MobileAuthentication/GetAccessToken")
        def login() -> Response:
            self.fault("login")
            body = request.get_json(silent=True) or {}
            if body.get("TenDangNhap") == USERNAME and body.get("MatKhau") == PASSWORD:
                return _json({"IsSuccess": True, "Token": self.issue_token(), "ErrorMessage": None})
            return _json({"IsSuccess": False, "Token": None, "ErrorMessage": "Sai tên đăng nhập hoặc mật khẩu"})

        @app.get(base + "TinhThanh/GetAll")
        def provinces() -> Response:
            self.fault("master")
            return self._auth() or _json([{"MaTinhThanh": i, "TenTinhThanh": n} for i, n in PROVINCES])

        @app.get(base + "QuanHuyen/GetAll")
        def districts() -> Response:
            self.fault("master")
            return self._auth() or _json(
                [{"MaQuanHuyen": i, "TenQuanHuyen": n, "MaTinhThanh": p} for i, n, p in DISTRICTS]
            )

        @app.get(base + "PhuongXa/GetAll")
        def wards() -> Response:
            self.fault("master")
            return self._auth() or _json([{"MaPhuongXa": i, "TenPhuongXa": n, "MaQuanHuyen": d} for i, n, d in WARDS])

        @app.post(base + "CustomerConnect/TinhCuocTatCaDichVu")
        def price() -> Response:
            self.fault("quote")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            weight = int(body.get("Weight") or 0)
            if weight <= 0:
                return _json({"IsSuccess": False, "ErrorMessage": "Khối lượng không hợp lệ"}, 400)
            extra = 0 if body.get("SenderProvinceId") == body.get("ReceiverProvinceId") else 8_000
            rows = []
            for code, name, express in (("BK", "Bưu kiện", False), ("EMS", "Chuyển phát nhanh EMS", True)):
                base_fee = _fee(weight, express) + extra
                rows.append(
                    {
                        "Success": True,
                        "MaDichVu": code,
                        "TenDichVu": name,
                        "TongCuocBaoGomDVCT": base_fee,
                        "TongCuocSauVAT": int(base_fee * 1.1),
                    }
                )
            rows.append({"Success": False, "MaDichVu": "TMDT", "TenDichVu": "Thương mại điện tử", "Message": "N/A"})
            return _json(rows)

        @app.post(base + "CustomerConnect/CreateOrder")
        def create() -> Response:
            self.fault("create")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            missing = [k for k in self.REQUIRED if body.get(k) in (None, "")]
            if missing or int(body.get("WeightEvaluation") or 0) <= 0:
                msg = f"Thiếu thông tin: {', '.join(missing) or 'WeightEvaluation'}"
                return _json({"IsSuccess": False, "ErrorMessage": msg}, 400)
            if self.by_client_ref(str(body["OrderCode"])):
                return _json({"IsSuccess": False, "ErrorMessage": self.config["duplicate_message"]}, 400)
            express = body["ServiceName"] == "EMS"
            item_code = self.s10_code("EL" if express else "CP")
            fee = int(_fee(int(body["WeightEvaluation"]), express) * 1.1)
            order_id = str(uuid.UUID(int=self.seq + 0x5EED))
            data = {**body, "Id": order_id, "ItemCode": item_code, "TotalFreightIncludeVat": fee}
            self.add_order(item_code, str(body["OrderCode"]), data, "20")
            self.fault("create", after_commit=True)
            return _json(
                {
                    "Id": order_id,
                    "ItemCode": item_code,
                    "OrderCode": body["OrderCode"],
                    "CustomerCode": CUSTOMER_CODE,
                    "OrderStatusId": 20,
                    "OriginalCodAmountEvaluation": body.get("CodAmountEvaluation", 0),
                    "TotalFreightIncludeVatEvaluation": fee,
                    "CreateTime": _vn_time(datetime.now(UTC)),
                }
            )

        @app.post(base + "CustomerConnect/CancelOrder")
        def cancel() -> Response:
            self.fault("cancel")
            if denied := self._auth():
                return denied
            order_id = str((request.get_json(silent=True) or {}).get("OrderId", ""))
            with self.lock:
                order = next((o for o in self.orders.values() if o.data.get("Id") == order_id), None)
            if order is None:
                return _json({"IsSuccess": False, "ErrorMessage": "Không tìm thấy đơn hàng"}, 404)
            if order.cancelled:
                return _json({"IsSuccess": True, "ErrorMessage": None})
            if order.status not in self.CANCELLABLE:
                return _json({"IsSuccess": False, "ErrorMessage": "Bưu gửi đã được chấp nhận, không thể hủy"}, 400)
            order.cancelled = True
            self.advance(order.ref, "60")
            return _json({"IsSuccess": True, "ErrorMessage": None})

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        d = order.data
        code = int(event["code"])
        inner = {
            "Id": d["Id"],
            "ItemCode": order.ref,
            "CustomerCode": CUSTOMER_CODE,
            "OrderCode": order.client_ref,
            "OrderStatusId": code,
            "ShippingStatusId": None,
            "PaymentStatusId": 2 if code == 120 else (1 if code == 110 else 0),
            "ServiceName": d.get("ServiceName"),
            "ServiceDisplayName": "Chuyển phát nhanh EMS" if d.get("ServiceName") == "EMS" else "Bưu kiện",
            "SenderFullname": d.get("SenderFullname"),
            "SenderTel": d.get("SenderTel"),
            "SenderAddress": d.get("SenderAddress"),
            "ReceiverFullname": d.get("ReceiverFullname"),
            "ReceiverTel": d.get("ReceiverTel"),
            "ReceiverAddress": d.get("ReceiverAddress"),
            "ShipperTel": "0912000111" if code >= 70 else None,
            "CodAmount": d.get("CodAmountEvaluation", 0),
            "CodAmountEvaluation": d.get("CodAmountEvaluation", 0),
            "CodFreight": 0,
            "TotalFreightIncludeVat": d.get("TotalFreightIncludeVat"),
            "Weight": d.get("WeightEvaluation"),
            "WeightConvert": d.get("WeightEvaluation"),
            "AcceptancePoscode": "100000",
            "DestinationPoscode": "111060",
            "ToPOSCode": "111060",
            "CauseCode": "A01" if code == 91 else None,
            "CauseName": (event.get("reason") or "Người nhận vắng nhà") if code == 91 else None,
            "SolutionCode": None,
            "SolutionName": None,
            "DeliveryTimes": 1 if code in (91, 100) else 0,
            "DeliveryNote": None,
            "IsDeliverable": code != 91,
            "IsReturn": code in (161, 170),
            "PaypostStatus": None,
            "PaypostTransferDate": None,
            "CancelStatus": 1 if code in (60, 61, 62) else 0,
            "CancelTime": _vn_time(event["at"]) if code in (60, 62) else None,
            "DeliveryDateEvaluation": None,
            "CreateTime": _vn_time(order.created_at),
            "LastUpdateTime": _vn_time(event["at"]),
        }
        data = json.dumps(inner, ensure_ascii=False)
        sign = hmac.new(str(self.config["webhook_secret"]).encode(), data.encode(), hashlib.sha256).hexdigest()
        body = {"Data": data, "SendDate": _vn_time(datetime.now(UTC)), "SignData": sign}
        return json.dumps(body, ensure_ascii=False).encode(), {"Content-Type": "application/json"}


# ---------------------------------------------------------------------------------------------------------------------
# MyVNPost
# ---------------------------------------------------------------------------------------------------------------------


class FakeVNPostMyVNPost(_TokenFake):
    name = "vnpost-myvnpost"
    api = "myvnpost"
    CANCELLABLE = frozenset({"0", "1", "2", "3", "4", "5", "8"})
    SERVICES: ClassVar[dict[str, bool]] = {"ETN011": False, "EMS": True}

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.config.setdefault("webhook_path_token", MYVNPOST_PATH_TOKEN)

    def _auth(self) -> Response | None:
        if not self.token_ok(request.headers.get("token")):
            return _json({"message": "Token không hợp lệ hoặc đã hết hạn"}, 401)
        return None

    def build_routes(self, app: Flask) -> None:
        self._expire_route(app)
        base = "/MYVNP_API/customer-partner/"

        @app.post(base + "GetAccessToken")
        def login() -> Response:
            self.fault("login")
            body = request.get_json(silent=True) or {}
            ok = (body.get("username"), body.get("password"), body.get("customerCode")) == (
                USERNAME,
                PASSWORD,
                CUSTOMER_CODE,
            )
            if not ok:
                return _json({"message": "Thông tin đăng nhập không chính xác"}, 401)
            return _json({"token": self.issue_token()})

        @app.get(base + "getAllProvince")
        def provinces() -> Response:
            self.fault("master")
            return self._auth() or _json([{"provinceCode": i, "provinceName": n} for i, n in PROVINCES])

        @app.get(base + "getAllDistrict")
        def districts() -> Response:
            self.fault("master")
            return self._auth() or _json(
                [{"districtCode": i, "districtName": n, "provinceCode": p} for i, n, p in DISTRICTS]
            )

        @app.get(base + "getAllCommune")
        def communes() -> Response:
            self.fault("master")
            return self._auth() or _json([{"communeCode": i, "communeName": n, "districtCode": d} for i, n, d in WARDS])

        @app.post(base + "ServicesCharge")
        def price() -> Response:
            self.fault("quote")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            code = body.get("serviceCode")
            if code not in self.SERVICES or int(body.get("weight") or 0) <= 0:
                return _json({"message": "Dịch vụ hoặc khối lượng không hợp lệ"}, 400)
            fee = _fee(int(body["weight"]), self.SERVICES[code])
            return _json([{"serviceCode": code, "mainFee": fee, "totalFee": int(fee * 1.1)}])

        @app.post(base + "CreateOrder")
        def create() -> Response:
            self.fault("create")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            info = body.get("informationOrder") or {}
            if body.get("type") != "GUI" or body.get("orderCreationStatus") not in (0, 1):
                return _json({"message": "type/orderCreationStatus không hợp lệ"}, 400)
            required = ("senderName", "senderPhone", "senderAddress", "senderProvinceCode", "receiverName")
            required += ("receiverPhone", "receiverAddress", "receiverProvinceCode", "serviceCode", "saleOrderCode")
            missing = [k for k in required if info.get(k) in (None, "")]
            if missing or int(info.get("weight") or 0) <= 0:
                return _json({"message": f"Thiếu thông tin: {', '.join(missing) or 'weight'}"}, 400)
            if info["serviceCode"] not in self.SERVICES:
                return _json({"message": f"Dịch vụ {info['serviceCode']} không tồn tại"}, 400)
            if self.by_client_ref(str(info["saleOrderCode"])):
                return _json({"message": self.config["duplicate_message"]}, 400)
            original = self.s10_code("EL" if self.SERVICES[info["serviceCode"]] else "CP")
            fee = int(_fee(int(info["weight"]), self.SERVICES[info["serviceCode"]]) * 1.1)
            status = str(body["orderCreationStatus"])
            self.add_order(original, str(info["saleOrderCode"]), {**body, "totalFee": fee}, status)
            self.fault("create", after_commit=True)
            return _json({"originalID": original, "status": int(status), "totalFee": fee})

        @app.post(base + "orderCancel")
        def cancel() -> Response:
            self.fault("cancel")
            if denied := self._auth():
                return denied
            original = str((request.get_json(silent=True) or {}).get("OriginalId", ""))
            order = self.orders.get(original)
            if order is None:
                return _json({"message": "Không tìm thấy đơn hàng"}, 404)
            case_id = f"CASE{abs(hash(original)) % 10**8:08d}"
            if order.cancelled:
                return _json([{"caseId": case_id}])
            if order.status not in self.CANCELLABLE:
                return _json({"message": "Đơn hàng đã được bưu tá nhận, không thể hủy"}, 400)
            order.cancelled = True
            self.advance(order.ref, "9")
            return _json([{"caseId": case_id}])

    def fire(self, order: FakeOrder, event: dict[str, Any]) -> None:
        """MyVNPost pushes to the secret URL the agency registered: ``<webhook_url>/<path token>``."""
        url, token = self.config.get("webhook_url"), str(self.config.get("webhook_path_token") or "")
        if url and token and not str(url).rstrip("/").endswith("/" + token):
            with self.lock:
                self.config["webhook_url"] = f"{str(url).rstrip('/')}/{token}"
        super().fire(order, event)

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        item = {
            "originalId": order.ref,
            "saleOrderCode": order.client_ref,
            "status": int(event["code"]),
            "statusDate": _vn_time(event["at"]),
            "note": event.get("reason"),
        }
        return json.dumps([item], ensure_ascii=False).encode(), {"Content-Type": "application/json"}


# ---------------------------------------------------------------------------------------------------------------------
# NGSP
# ---------------------------------------------------------------------------------------------------------------------


class FakeVNPostNGSP(_TokenFake):
    name = "vnpost-ngsp"
    api = "ngsp"
    CANCELLABLE = frozenset({"1"})
    API = "/apiVNPostNGSP/p1.0/order/"
    MESSAGES: ClassVar[dict[str, str]] = {"1": "Đã tiếp nhận", "2": "Đang thu gom", "3": "Đã phát", "4": "Hủy thu gom"}

    def __init__(self, **kw: Any) -> None:
        self.feed: list[dict[str, Any]] = []
        self._oid_clock = 0
        super().__init__(**kw)

    def _auth(self) -> Response | None:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or not self.token_ok(header[7:]):
            fault = {
                "code": 900901,
                "message": "Invalid Credentials",
                "description": "Access failure for API: /apiVNPostNGSP/p1.0, version: p1.0 status: (900901) - "
                "Invalid Credentials. Make sure you have provided the correct security credentials",
            }
            return _json({"fault": fault}, 401)
        return None

    def next_oid(self, at: datetime | None = None) -> str:
        """An ObjectId: 4 bytes of time, then a counter. The time is the event's (simulated) time, never running
        backwards, so the feed stays in insertion order."""
        with self.lock:
            stamp = int((at or datetime.now(UTC)).timestamp())
            self._oid_clock = max(self._oid_clock, stamp)
            return f"{self._oid_clock:08x}{self.next_seq():016x}"

    def advance(self, ref, to, *, at=None, reason=None, fire=True, extra=None) -> dict[str, Any]:
        event = super().advance(ref, to, at=at, reason=reason, fire=False, extra=extra)
        order = self.orders[ref]
        doc = {
            "_id": {"$oid": self.next_oid(event["at"])},
            "orderNumber": order.client_ref,
            "statusCode": int(to),
            "statusMessage": reason or self.MESSAGES.get(to, "Cập nhật trạng thái"),
        }
        with self.lock:
            self.feed.append(doc)
        return event

    def build_routes(self, app: Flask) -> None:
        self._expire_route(app)

        @app.post("/__fake/feed/reset")
        def _feed_reset() -> Response:
            with self.lock:
                self.feed.clear()
            return _json({"ok": True})

        @app.post("/token")
        def token() -> Response:
            self.fault("login")
            header = request.headers.get("Authorization", "")
            try:
                client = base64.b64decode(header[6:]).decode() if header.startswith("Basic ") else ""
            except ValueError:
                client = ""
            if request.form.get("grant_type") != "client_credentials":
                return _json({"error": "unsupported_grant_type", "error_description": "Unsupported grant_type"}, 400)
            if client != f"{NGSP_CLIENT_ID}:{NGSP_CLIENT_SECRET}":
                return _json({"error": "invalid_client", "error_description": "Client Authentication failed."}, 401)
            ttl = int(self.config["token_ttl"])
            return _json(
                {
                    "access_token": self.issue_token(),
                    "scope": "am_application_scope default",
                    "token_type": "Bearer",
                    "expires_in": ttl,
                }
            )

        @app.post(self.API + "post")
        def post_order() -> Response:
            self.fault("create")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            if body.get("customerCode") != CUSTOMER_CODE:
                return _json({"success": False, "message": "customerCode không hợp lệ"}, 400)
            required = ("orderNumber", "senderName", "senderAddress", "senderTel", "receiverName", "receiverAddress")
            required += ("receiverTel",)
            missing = [k for k in required if body.get(k) in (None, "")]
            ints = ("senderProvince", "senderDistrict", "receiverProvince", "receiverDistrict")
            if missing or not all(isinstance(body.get(k), int) for k in ints):
                return _json({"success": False, "message": f"Thiếu thông tin: {', '.join(missing) or 'province'}"}, 400)
            if self.by_client_ref(str(body["orderNumber"])):
                return _json({"success": False, "message": self.config["duplicate_message"]}, 400)
            item_code = self.s10_code("EL")
            self.add_order(item_code, str(body["orderNumber"]), body, "0")
            self.fault("create", after_commit=True)
            return _json(
                {"success": True, "message": "Thành công", "orderNumber": body["orderNumber"], "itemCode": item_code}
            )

        @app.post(self.API + "cancel")
        def cancel() -> Response:
            self.fault("cancel")
            if denied := self._auth():
                return denied
            body = request.get_json(silent=True) or {}
            order = self.by_client_ref(str(body.get("orderNumber", "")))
            if order is None or body.get("customerCode") != CUSTOMER_CODE:
                return _json({"success": False, "message": "Không tìm thấy đơn hàng"}, 404)
            if order.cancelled:
                return _json({"success": True, "message": "Đơn hàng đã hủy"})
            if order.status not in self.CANCELLABLE | {"0"}:
                return _json({"success": False, "message": "Hồ sơ đã được thu gom, không thể hủy"}, 400)
            order.cancelled = True
            self.advance(order.ref, "4")
            return _json({"success": True, "message": "Thành công"})

        @app.get(self.API + "tracking")
        def tracking() -> Response:
            self.fault("feed")
            if denied := self._auth():
                return denied
            last = (request.args.get("lastId") or "0" * 24).lower()
            size = max(1, min(int(request.args.get("pagesize") or 20), 1000))
            with self.lock:
                page = [d for d in self.feed if d["_id"]["$oid"] > last][:size]
            return _json({"_embedded": {"rh:doc": page}, "_returned": len(page)})

    def fire(self, order: FakeOrder, event: dict[str, Any]) -> None:
        """NGSP has no push: events only appear in the feed."""

    def webhook_payload(self, order: FakeOrder, event: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        doc = next((d for d in reversed(self.feed) if d["orderNumber"] == order.client_ref), {})
        return json.dumps(doc, ensure_ascii=False).encode(), {"Content-Type": "application/json"}


# ---------------------------------------------------------------------------------------------------------------------

FAKES: dict[str, type[_TokenFake]] = {
    "donhang": FakeVNPostDonhang,
    "myvnpost": FakeVNPostMyVNPost,
    "ngsp": FakeVNPostNGSP,
}


def make(api: str = "donhang", **kw: Any) -> _TokenFake:
    return FAKES[api](**kw)


def agency_settings(base_url: str, api: str = "donhang") -> dict[str, str]:
    """Carrier settings that make an agency use this fake (``postal-bridge carrier-settings … vnpost k=v …``)."""
    base_url = base_url.rstrip("/")
    if api == "donhang":
        return {
            "api": "donhang",
            "base_url": f"{base_url}/api/api",
            "username": USERNAME,
            "password": PASSWORD,
            "customer_code": CUSTOMER_CODE,
            "webhook_secret": DONHANG_SECRET,
            "sign_algorithm": "hmac-sha256",
            "service_codes": "standard=BK,express=EMS",
        }
    if api == "myvnpost":
        return {
            "api": "myvnpost",
            "base_url": f"{base_url}/MYVNP_API",
            "username": USERNAME,
            "password": PASSWORD,
            "customer_code": CUSTOMER_CODE,
            "webhook_secret": MYVNPOST_PATH_TOKEN,
            "service_codes": "standard=ETN011,express=EMS",
        }
    if api == "ngsp":
        return {
            "api": "ngsp",
            "base_url": base_url,
            "client_id": NGSP_CLIENT_ID,
            "client_secret": NGSP_CLIENT_SECRET,
            "customer_code": CUSTOMER_CODE,
            "token_path": "/token",
            "order_path": "/apiVNPostNGSP/p1.0/order/post",
            "cancel_path": "/apiVNPostNGSP/p1.0/order/cancel",
            "tracking_path": "/apiVNPostNGSP/p1.0/order/tracking",
            "page_size": "50",
        }
    raise ValueError(f"unknown VNPost api {api!r}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--api", choices=sorted(FAKES), default="donhang")
    args, rest = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    serve_main(make(args.api), rest)


if __name__ == "__main__":
    main()
