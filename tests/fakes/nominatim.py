"""A fake geocoding server: Nominatim's ``/search`` and Photon's ``/api``, with scripted answers.

- ``/search?q=…&format=json&limit=1&countrycodes=vn`` → a JSON array of Nominatim places, numbers as *strings*
  (``{"lat": "21.0230", "lon": "105.8130", "display_name": …, "place_rank": 30, …}``), as Nominatim answers.
- ``/api?q=…&limit=1[&lat=…&lon=…]`` → Photon's GeoJSON ``FeatureCollection`` for the same table.
- ``script(q, lat, lon, …)`` sets an answer; unknown queries get ``[]``. Queries match case- and space-insensitively.
- ``mode``: ``ok`` | ``empty`` (every answer ``[]``) | ``500`` (HTTP 500) | ``slow`` (sleeps ``slow_seconds``, then
  answers as ``ok``).
- ``log``: every request with its arrival time (``time.monotonic()``), path, query arguments and User-Agent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

from flask import Flask, Response, jsonify, request

MODES = ("ok", "empty", "500", "slow")


@dataclass(frozen=True)
class LoggedRequest:
    at: float
    path: str
    args: dict[str, str]
    user_agent: str


@dataclass
class Place:
    lat: float
    lon: float
    display_name: str
    place_rank: int = 30
    osm_class: str = "building"
    osm_type: str = "house"
    extra: dict[str, Any] = field(default_factory=dict)


def _match_key(q: str) -> str:
    return " ".join(q.casefold().split())


class FakeNominatim:
    def __init__(self) -> None:
        self.mode = "ok"
        self.slow_seconds = 2.0
        self.answers: dict[str, list[Place]] = {}
        self.log: list[LoggedRequest] = []
        self._lock = threading.Lock()
        self.app = self._make_app()

    def script(
        self, q: str, lat: float, lon: float, display_name: str | None = None, place_rank: int = 30, **extra: Any
    ) -> None:
        self.answers.setdefault(_match_key(q), []).append(
            Place(lat=lat, lon=lon, display_name=display_name or q, place_rank=place_rank, extra=extra)
        )

    def set_mode(self, mode: str) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        self.mode = mode

    def requests(self, path: str | None = None) -> list[LoggedRequest]:
        with self._lock:
            return [r for r in self.log if path is None or r.path == path]

    # -- the app ------------------------------------------------------------------------------------------------

    def _places(self) -> list[Place] | Response:
        with self._lock:
            self.log.append(
                LoggedRequest(
                    at=time.monotonic(),
                    path=request.path,
                    args=dict(request.args),
                    user_agent=request.headers.get("User-Agent", ""),
                )
            )
        mode = self.mode
        if mode == "500":
            return Response("<html><body>Internal Server Error</body></html>", status=500, mimetype="text/html")
        if mode == "slow":
            time.sleep(self.slow_seconds)
        if mode == "empty":
            return []
        places = self.answers.get(_match_key(request.args.get("q", "")), [])
        limit = request.args.get("limit", type=int) or 10
        return places[:limit]

    def _make_app(self) -> Flask:
        app = Flask("fake_nominatim")

        @app.get("/search")
        def search() -> Any:
            if request.args.get("format") not in ("json", "jsonv2"):
                return Response("this fake speaks format=json only", status=400)
            places = self._places()
            if isinstance(places, Response):
                return places
            return jsonify([_nominatim_json(i, p) for i, p in enumerate(places)])

        @app.get("/api")
        @app.get("/api/")
        def photon() -> Any:
            places = self._places()
            if isinstance(places, Response):
                return places
            return jsonify({"type": "FeatureCollection", "features": [_photon_json(p) for p in places]})

        return app


def _nominatim_json(index: int, place: Place) -> dict[str, Any]:
    return {
        "place_id": 100000 + index,
        "licence": "Data © OpenStreetMap contributors, ODbL 1.0. http://osm.org/copyright",
        "osm_type": "way",
        "osm_id": 200000 + index,
        "lat": f"{place.lat:.7f}",
        "lon": f"{place.lon:.7f}",
        "class": place.osm_class,
        "type": place.osm_type,
        "place_rank": place.place_rank,
        "importance": 0.3,
        "addresstype": place.osm_class,
        "name": place.display_name.split(",")[0],
        "display_name": place.display_name,
        "boundingbox": [
            f"{place.lat - 0.0005:.7f}",
            f"{place.lat + 0.0005:.7f}",
            f"{place.lon - 0.0005:.7f}",
            f"{place.lon + 0.0005:.7f}",
        ],
        **place.extra,
    }


def _photon_json(place: Place) -> dict[str, Any]:
    photon_type = "house" if place.place_rank >= 30 else "street" if place.place_rank >= 26 else "district"
    return {
        "type": "Feature",
        "geometry": {"type": "Point", "coordinates": [place.lon, place.lat]},
        "properties": {
            "osm_type": "W",
            "osm_id": 200000,
            "countrycode": "VN",
            "name": place.display_name.split(",")[0],
            "city": "Hà Nội",
            "country": "Việt Nam",
            "type": photon_type,
        },
    }
