"""Rounds: nearest neighbour then 2-opt, from the office and back, deterministic."""

from __future__ import annotations

import math
import random
import time

import pytest

from postal_bridge.domain.rounds import Round, Stop, _km, nearest_neighbour, plan_round

OFFICE = (21.0285, 105.8525)


def _random_stops(rng: random.Random, n: int) -> list[Stop]:
    return [Stop(f"s{i:03d}", 20.95 + rng.random() * 0.2, 105.75 + rng.random() * 0.2) for i in range(n)]


def _tour_km(office: tuple[float, float], order: list[Stop]) -> float:
    points = [office, *((s.lat, s.lon) for s in order), office]
    return sum(_km(*points[i], *points[i + 1]) for i in range(len(points) - 1))


def _is_two_opt_optimal(office: tuple[float, float], order: list[Stop]) -> bool:
    pts = [office, *((s.lat, s.lon) for s in order), office]
    for i in range(1, len(pts) - 2):
        for k in range(i + 1, len(pts) - 1):
            before = _km(*pts[i - 1], *pts[i]) + _km(*pts[k], *pts[k + 1])
            after = _km(*pts[i - 1], *pts[k]) + _km(*pts[i], *pts[k + 1])
            if after < before - 1e-6:
                return False
    return True


def test_two_opt_never_loses_to_nearest_neighbour_and_usually_wins() -> None:
    rng = random.Random(20250701)
    strictly_better = 0
    for _ in range(25):
        stops = _random_stops(rng, rng.randint(3, 40))
        nn = nearest_neighbour(OFFICE, stops)
        best = plan_round(OFFICE, stops)
        assert best.distance_km <= nn.distance_km + 1e-9
        assert sorted(s.id for s in best.order) == sorted(s.id for s in stops)
        assert _is_two_opt_optimal(OFFICE, best.order)
        strictly_better += best.distance_km < nn.distance_km - 1e-6
    assert strictly_better >= 10  # 2-opt does real work, not just copying the greedy tour


def test_square_round_is_its_perimeter() -> None:
    # The office on one corner of a ~1.1 km square, stops on the other corners and along the sides, given scrambled.
    lat0, lon0, d = 21.0, 105.8, 0.01
    corners = [(lat0, lon0), (lat0, lon0 + d), (lat0 + d, lon0 + d), (lat0 + d, lon0)]
    stops = [
        Stop("c1", *corners[1]),
        Stop("c2", *corners[2]),
        Stop("c3", *corners[3]),
        Stop("m01", lat0, lon0 + d / 2),
        Stop("m12", lat0 + d / 2, lon0 + d),
        Stop("m23", lat0 + d, lon0 + d / 2),
        Stop("m30", lat0 + d / 2, lon0),
    ]
    random.Random(7).shuffle(stops)
    perimeter = sum(_km(*corners[i], *corners[(i + 1) % 4]) for i in range(4))
    r = plan_round(corners[0], stops)
    assert r.distance_km == pytest.approx(perimeter, rel=1e-6)
    ids = [s.id for s in r.order]
    assert ids in (
        ["m01", "c1", "m12", "c2", "m23", "c3", "m30"],
        ["m30", "c3", "m23", "c2", "m12", "c1", "m01"],
    )


def test_two_opt_uncrosses_a_greedy_tour() -> None:
    # Greedy takes the closest stop b first, then zig-zags a → d → c, crossing its own path; 2-opt fixes it.
    office = (21.0, 105.8)
    stops = [
        Stop("a", 20.997, 105.808),
        Stop("b", 20.993, 105.800),
        Stop("c", 20.990, 105.790),
        Stop("d", 20.990, 105.810),
        Stop("e", 21.007, 105.790),
    ]
    nn = nearest_neighbour(office, stops)
    best = plan_round(office, stops)
    assert [s.id for s in nn.order] == ["b", "a", "d", "c", "e"]
    assert [s.id for s in best.order] == ["a", "d", "b", "c", "e"]
    assert best.distance_km < nn.distance_km - 0.5
    assert _is_two_opt_optimal(office, best.order)


def test_round_starts_and_ends_at_the_office() -> None:
    stops = _random_stops(random.Random(3), 12)
    r = plan_round(OFFICE, stops)
    assert len(r.legs) == len(r.order) + 1
    first, last = r.order[0], r.order[-1]
    assert r.legs[0] == pytest.approx(_km(*OFFICE, first.lat, first.lon))
    assert r.legs[-1] == pytest.approx(_km(last.lat, last.lon, *OFFICE))
    assert r.distance_km == pytest.approx(sum(r.legs))
    assert r.distance_km == pytest.approx(_tour_km(OFFICE, r.order))


def test_same_stops_in_any_order_give_the_same_round() -> None:
    stops = _random_stops(random.Random(11), 30)
    stops += [Stop("dup-b", 21.0, 105.8), Stop("dup-a", 21.0, 105.8)]  # same point: ties broken by id
    first = plan_round(OFFICE, stops)
    for seed in range(5):
        shuffled = stops[:]
        random.Random(seed).shuffle(shuffled)
        again = plan_round(OFFICE, shuffled)
        assert [s.id for s in again.order] == [s.id for s in first.order]
        assert again.legs == first.legs
    ids = [s.id for s in first.order]
    assert abs(ids.index("dup-a") - ids.index("dup-b")) == 1  # one place, visited once


def test_equidistant_first_stop_is_chosen_by_id() -> None:
    office = (21.0, 105.8)
    r = plan_round(office, [Stop("z", 21.0, 105.81), Stop("a", 21.0, 105.79)])
    assert [s.id for s in r.order] == ["a", "z"]


def test_no_stops() -> None:
    assert plan_round(OFFICE, []) == Round(order=[], distance_km=0.0, legs=[])


def test_one_stop_is_there_and_back() -> None:
    s = Stop("only", 21.0, 105.8, label="RR1VN")
    r = plan_round(OFFICE, [s])
    one_way = _km(*OFFICE, 21.0, 105.8)
    assert r.order == [s]
    assert r.legs == pytest.approx([one_way, one_way])
    assert r.distance_km == pytest.approx(2 * one_way)


def test_two_stops_visit_the_nearer_first() -> None:
    near, far = Stop("n", 21.03, 105.86), Stop("f", 21.1, 105.9)
    r = plan_round(OFFICE, [far, near])
    assert [s.id for s in r.order] == ["n", "f"]
    assert len(r.legs) == 3
    assert r.distance_km == pytest.approx(_tour_km(OFFICE, [near, far]))


def test_two_hundred_stops_well_under_a_second() -> None:
    stops = _random_stops(random.Random(42), 200)
    started = time.perf_counter()
    r = plan_round(OFFICE, stops)
    assert time.perf_counter() - started < 0.8
    assert len(r.order) == 200
    assert math.isfinite(r.distance_km)
    assert _is_two_opt_optimal(OFFICE, r.order)
