"""Piggyback dissemination: bounded retransmission, least-sent first, byte budget."""
import math

from emulator.membership import SwimParams
from emulator.membership.dissemination import BroadcastQueue


def test_retransmit_limit_is_lambda_times_log2_n():
    params = SwimParams(retransmit_mult=3)
    assert [params.retransmit_limit(n) for n in (1, 3, 7, 8, 64)] == [3, 6, 9, 12, 21]
    assert params.retransmit_limit(64) == 3 * math.ceil(math.log2(65))


def test_each_update_is_sent_exactly_limit_times():
    queue = BroadcastQueue()
    queue.enqueue("a")
    sent = 0
    while queue.take(limit=5, budget=1000, size_of=lambda _: 10):
        sent += 1
    assert sent == 5 and "a" not in queue


def test_least_sent_first_then_newest():
    queue = BroadcastQueue()
    for node_id in ("a", "b", "c"):
        queue.enqueue(node_id)
    assert queue.take(limit=9, budget=20, size_of=lambda _: 10) == ["c", "b"]
    assert queue.take(limit=9, budget=20, size_of=lambda _: 10) == ["a", "b"]
    assert [queue.transmissions(i) for i in "abc"] == [1, 2, 1]
    queue.enqueue("b")  # a newer record about b starts afresh
    assert queue.transmissions("b") == 0
    assert queue.take(limit=9, budget=10, size_of=lambda _: 10) == ["b"]


def test_budget_is_respected_but_one_oversized_update_still_goes():
    queue = BroadcastQueue()
    queue.enqueue("big")
    assert queue.take(limit=3, budget=100, size_of=lambda _: 500) == ["big"]
    queue.enqueue("small")
    sizes = {"big": 500, "small": 10}
    assert queue.take(limit=3, budget=100, size_of=sizes.__getitem__) == ["small"]
