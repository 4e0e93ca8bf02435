import random, time
import tests.chaos.harness as h
from tests.chaos.harness import new_body
def test_dbg(world):
    orig = world.drain
    stats = {"drain":0, "waiting":0}
    def drain(**kw):
        n = orig(**kw); stats["drain"] += 1; stats["waiting"] += n; return n
    world.drain = drain
    world.receiver.mode = "down"
    ids = [world.api.create(new_body(random.Random(1), "ghn")).json()["id"] for _ in range(4)]
    t0 = time.monotonic(); start = world.clock.now()
    world.settle(within=3600)
    print("\nsettle 1h took", time.monotonic()-t0, stats, world.clock.now()-start)
    assert 0
