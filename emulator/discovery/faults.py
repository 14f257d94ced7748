"""Fault hooks applied by the UDP driver: packet loss and partitions between named nodes.

A node's plan filters only its own traffic: a datagram it sends to, or receives
from, a node across one of its partitions is dropped, and of the rest a
fraction `loss` is dropped in each direction. To cut the cluster in two, give
the plan to the nodes of one side or of both (POST /v1/faults on each); since a
node drops both directions, one side suffices. Plans are values: a POST
replaces the plan, a DELETE clears it.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field


class FaultSpecError(ValueError):
    def __init__(self, field_name: str, problem: str):
        super().__init__(f"{field_name}: {problem}")
        self.field = field_name


@dataclass(frozen=True)
class FaultPlan:
    loss: float = 0.0
    partitions: tuple[tuple[frozenset[str], frozenset[str]], ...] = ()
    isolate: frozenset[str] = frozenset()  # cut off from every node not listed

    def blocks(self, me: str, peer: str | None) -> bool:
        if peer is None or peer == me:
            return False
        if self.isolate and ((me in self.isolate) != (peer in self.isolate)):
            return True
        return any((me in a and peer in b) or (me in b and peer in a) for a, b in self.partitions)

    def to_json(self) -> dict:
        return {"loss": self.loss,
                "partitions": [[sorted(a), sorted(b)] for a, b in self.partitions],
                "isolate": sorted(self.isolate)}

    @classmethod
    def from_json(cls, obj) -> "FaultPlan":
        if not isinstance(obj, dict):
            raise FaultSpecError("body", "expected a JSON object")
        unknown = set(obj) - {"loss", "partitions", "isolate"}
        if unknown:
            raise FaultSpecError(sorted(unknown)[0], "unknown field (known: loss, partitions, isolate)")
        loss = obj.get("loss", 0.0)
        if isinstance(loss, bool) or not isinstance(loss, (int, float)) or not 0 <= loss <= 1:
            raise FaultSpecError("loss", f"expected a number from 0 to 1, got {loss!r}")
        return cls(float(loss), _partitions(obj.get("partitions", [])),
                   frozenset(_names("isolate", obj.get("isolate", []))))


def _names(where: str, value) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise FaultSpecError(where, f"expected a list of node ids, got {value!r}")
    return value


def _partitions(value) -> tuple:
    if not isinstance(value, list):
        raise FaultSpecError("partitions", "expected a list of [side, side] pairs")
    out = []
    for i, pair in enumerate(value):
        if not isinstance(pair, list) or len(pair) != 2:
            raise FaultSpecError(f"partitions[{i}]", "expected [[ids...], [ids...]]")
        a, b = (frozenset(_names(f"partitions[{i}][{j}]", side)) for j, side in enumerate(pair))
        if a & b:
            raise FaultSpecError(f"partitions[{i}]", f"{sorted(a & b)} on both sides")
        out.append((a, b))
    return tuple(out)


@dataclass
class FaultSwitch:
    """The driver's current plan, its RNG and what it dropped."""
    rng: random.Random = field(default_factory=random.Random)
    plan: FaultPlan = field(default_factory=FaultPlan)
    dropped_loss: int = 0
    dropped_partition: int = 0

    def drops(self, me: str, peer: str | None) -> bool:
        if self.plan.blocks(me, peer):
            self.dropped_partition += 1
            return True
        if self.plan.loss and self.rng.random() < self.plan.loss:
            self.dropped_loss += 1
            return True
        return False
