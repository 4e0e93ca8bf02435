"""GeopyGeocoder against a fake Nominatim/Photon on loopback, with the real database cache (engineering.md §7)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, func, select

from adapters.geo import CentroidGeocoder, GeopyGeocoder
from postal_bridge.domain.geo import GeoPoint, NoLocation, geocode_key
from postal_bridge.storage import tables as t
from postal_bridge.storage.engine import make_engine
from postal_bridge.storage.geocode_cache import SqlGeocodeCache
from tests.fakes.nominatim import FakeNominatim
from tests.fakes.server import LoopbackServer

USER_AGENT = "postal-bridge-tests/1.0 (ops@example.vn)"
LANG = (21.0211, 105.806)  # ward centroid of 00199 Phường Láng, Hà Nội
QUERY = "Số 1 Láng Hạ, Phường Láng, Thành phố Hà Nội"
HIT = (21.0230, 105.8130)
OTHER_QUERY = "Số 8 Huỳnh Thúc Kháng, Phường Láng, Thành phố Hà Nội"
OTHER_HIT = (21.0190, 105.8110)
CENTROID = GeoPoint(lat=LANG[0], lon=LANG[1], approximate=True, source="ward_centroid")


@pytest.fixture
def engine(migrated: str) -> Iterator[Engine]:
    engine = make_engine(migrated)
    with engine.begin() as conn:  # geocode_cache is not in conftest's TABLES_TO_CLEAN
        conn.execute(t.geocode_cache.delete())
    yield engine
    engine.dispose()


@pytest.fixture
def fake() -> Iterator[FakeNominatim]:
    fake = FakeNominatim()
    fake.script(QUERY, *HIT, display_name="1, Láng Hạ, Phường Láng, Hà Nội, Việt Nam")
    fake.script(OTHER_QUERY, *OTHER_HIT)
    yield fake


@pytest.fixture
def server(fake: FakeNominatim) -> Iterator[LoopbackServer]:
    with LoopbackServer(fake.app) as server:
        yield server


def make_geocoder(server: LoopbackServer, engine: Engine, **overrides) -> GeopyGeocoder:
    options = {
        "kind": "nominatim",
        "domain": f"127.0.0.1:{server.port}",
        "scheme": "http",
        "user_agent": USER_AGENT,
        "cache": SqlGeocodeCache(engine),
        "min_delay_seconds": 0.0,
        "timeout": 5.0,
    } | overrides
    return GeopyGeocoder(**options)


def cached_rows(engine: Engine) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(t.geocode_cache)).scalar_one()


def test_hit_returns_the_point(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    point = make_geocoder(server, engine).locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])

    assert point == GeoPoint(lat=HIT[0], lon=HIT[1], approximate=False, source="nominatim")
    [req] = fake.requests()
    assert req.path == "/search"
    assert req.args["q"] == QUERY
    assert req.args["format"] == "json"
    assert req.args["countrycodes"] == "vn"
    assert req.user_agent == USER_AGENT
    with engine.connect() as conn:
        row = conn.execute(select(t.geocode_cache)).one()
    assert (row.query_key, row.query, row.lat, row.lon, row.source) == (geocode_key(QUERY), QUERY, *HIT, "nominatim")


def test_second_identical_query_is_served_from_the_database(
    server: LoopbackServer, fake: FakeNominatim, engine: Engine
) -> None:
    geocoder = make_geocoder(server, engine)
    first = geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    again = geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    # Same query typed differently (case, spacing, decomposed Unicode) by another process with its own geocoder.
    other_process = make_geocoder(server, engine)
    variant = "  số 1 la\u0301ng hạ,  PHƯỜNG LÁNG, thành phố hà nội "
    from_other = other_process.locate(variant, ward_lat=LANG[0], ward_lon=LANG[1])

    assert first == again == from_other
    assert first.approximate is False
    assert len(fake.requests()) == 1
    assert cached_rows(engine) == 1


def test_rate_limit_spaces_requests(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    geocoder = make_geocoder(server, engine, min_delay_seconds=0.3)
    started = time.monotonic()
    geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    geocoder.locate(OTHER_QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])  # cached: no request, no wait
    elapsed = time.monotonic() - started

    first, second = fake.requests()
    # The limiter spaces the calls' starts on our side; allow 30 ms of loopback jitter at the server's side.
    assert second.at - first.at >= 0.3 - 0.03
    assert elapsed < 0.3 + 0.5


def test_without_the_limit_requests_are_not_spaced(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    """Shows the rate-limit test above can fail: with no delay, the two requests arrive close together."""
    geocoder = make_geocoder(server, engine, min_delay_seconds=0.0)
    geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    geocoder.locate(OTHER_QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    first, second = fake.requests()
    assert second.at - first.at < 0.25


@pytest.mark.parametrize("mode", ["empty", "500", "slow"])
def test_failures_fall_back_to_the_ward_centroid(
    server: LoopbackServer, fake: FakeNominatim, engine: Engine, mode: str
) -> None:
    fake.set_mode(mode)
    fake.slow_seconds = 1.5
    geocoder = make_geocoder(server, engine, timeout=0.3)

    started = time.monotonic()
    point = geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    assert time.monotonic() - started < 1.2  # a timeout does not wait for the slow answer, nor retry
    assert point == CENTROID
    # On a loaded machine the client can time out before the fake's thread has logged the request: wait for it,
    # then give a retry (which would come at once) time to arrive too.
    deadline = time.monotonic() + 3.0
    while not fake.requests() and time.monotonic() < deadline:
        time.sleep(0.02)
    time.sleep(0.2)
    assert len(fake.requests()) == 1  # no retries
    assert cached_rows(engine) == 0  # a fallback is never cached…

    fake.set_mode("ok")  # …so once the server answers again, the address gets its real point
    assert geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1]) == GeoPoint(*HIT, False, "nominatim")


def test_unreachable_server_falls_back(engine: Engine) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    geocoder = GeopyGeocoder(
        kind="nominatim",
        domain=f"127.0.0.1:{port}",
        scheme="http",
        user_agent=USER_AGENT,
        cache=SqlGeocodeCache(engine),
        timeout=1.0,
    )
    assert geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1]) == CENTROID


def test_no_result_and_no_centroid(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    fake.set_mode("empty")
    with pytest.raises(NoLocation):
        make_geocoder(server, engine).locate(QUERY, ward_lat=None, ward_lon=None)


def test_coarse_match_is_no_better_than_the_centroid(
    server: LoopbackServer, fake: FakeNominatim, engine: Engine
) -> None:
    query = "Phường Láng, Hà Nội"
    fake.script(query, 21.0200, 105.8050, place_rank=16)  # a suburb/ward polygon, not the address
    assert make_geocoder(server, engine).locate(query, ward_lat=LANG[0], ward_lon=LANG[1]) == CENTROID
    assert cached_rows(engine) == 0


def test_a_point_far_from_the_ward_is_refused(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    query = "Số 1 Lê Duẩn"
    fake.script(query, 10.7810, 106.6990)  # the street of that name in TP HCM, ~1,140 km away
    geocoder = make_geocoder(server, engine)
    assert geocoder.locate(query, ward_lat=LANG[0], ward_lon=LANG[1]) == CENTROID
    # Without a ward to compare with, the point is taken as it is.
    assert geocoder.locate(query, ward_lat=None, ward_lon=None) == GeoPoint(10.7810, 106.6990, False, "nominatim")


def test_photon(server: LoopbackServer, fake: FakeNominatim, engine: Engine) -> None:
    geocoder = make_geocoder(server, engine, kind="photon")
    point = geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])

    assert point == GeoPoint(lat=HIT[0], lon=HIT[1], approximate=False, source="photon")
    [req] = fake.requests()
    assert req.path == "/api"
    assert req.args["q"] == QUERY
    assert (float(req.args["lat"]), float(req.args["lon"])) == LANG  # biased towards the ward
    assert req.user_agent == USER_AGENT


def test_configuration_is_checked(engine: Engine) -> None:
    cache = SqlGeocodeCache(engine)
    common = {"domain": "127.0.0.1:9", "user_agent": USER_AGENT, "cache": cache}
    with pytest.raises(ValueError, match="unknown geocoder"):
        GeopyGeocoder(kind="google", scheme="http", **common)
    with pytest.raises(ValueError, match="scheme"):
        GeopyGeocoder(kind="nominatim", scheme="ftp", **common)
    with pytest.raises(ValueError, match="User-Agent"):
        GeopyGeocoder(kind="nominatim", scheme="http", domain="127.0.0.1:9", user_agent=" ", cache=cache)
    public = GeopyGeocoder(
        kind="nominatim", scheme="https", domain="nominatim.openstreetmap.org", user_agent=USER_AGENT, cache=cache,
        min_delay_seconds=0.1,
    )  # fmt: skip
    assert public.min_delay_seconds == 1.0  # the public server's policy, whatever was configured


def test_cache_ignores_approximate_points(engine: Engine) -> None:
    cache = SqlGeocodeCache(engine)
    cache.put(geocode_key(QUERY), QUERY, CENTROID)
    assert cache.get(geocode_key(QUERY)) is None
    cache.put(geocode_key(QUERY), QUERY, GeoPoint(*HIT, False, "photon"))
    cache.put(geocode_key(QUERY), QUERY, GeoPoint(*OTHER_HIT, False, "nominatim"))  # replaces
    assert cache.get(geocode_key(QUERY)) == GeoPoint(*OTHER_HIT, False, "nominatim")
    assert cached_rows(engine) == 1


@pytest.fixture
def connections(monkeypatch: pytest.MonkeyPatch) -> list[object]:
    """Records (and refuses) every outgoing connection or name lookup made through the socket module."""
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("network access is not allowed in this test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_centroid_geocoder_never_opens_a_socket(connections: list[object]) -> None:
    point = CentroidGeocoder().locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1])
    assert point == CENTROID
    assert connections == []


def test_the_socket_guard_catches_geopy(connections: list[object]) -> None:
    """The guard above is real: a networked geocoder trips it (and still falls back to the centroid)."""

    class NoCache:
        def get(self, key: str) -> None:
            return None

        def put(self, key: str, query: str, point: GeoPoint) -> None:
            raise AssertionError("nothing to cache")

    geocoder = GeopyGeocoder(
        kind="nominatim", domain="127.0.0.1:9", scheme="http", user_agent=USER_AGENT, cache=NoCache(), timeout=1.0
    )
    assert geocoder.locate(QUERY, ward_lat=LANG[0], ward_lon=LANG[1]) == CENTROID
    assert connections
