"""The protocol's tunables, in seconds (drivers convert from the config's milliseconds)."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class SwimParams:
    period: float = 0.5             # protocol period T: one probe and one gossip round
    probe_timeout: float = 0.2      # wait for a direct ack before asking k others
    indirect_probes: int = 3        # k
    suspicion_timeout: float = 5.0  # suspect -> failed unless refuted
    gossip_fanout: int = 3          # random members sent pending updates each period
    retransmit_mult: int = 4        # lambda: each update is sent lambda*ceil(log2(N+1)) times
    max_payload: int = 1400         # piggyback budget per datagram, in bytes (fits one frame)
    heartbeat_timeout: float = 3.0  # a hosted member silent this long is suspected
    reconnect_interval: float = 10.0  # sync with one failed member, to heal partitions
    sync_interval: float = 30.0     # push-pull with one live member (0: never)
    reap_after: float = 3600.0      # forget failed/left members this long after (0: never)
    sync_chunk: int = 32            # records per Sync datagram
    leave_fanout: int = 9           # members told directly of a graceful leave
    max_health_score: int = 8       # Lifeguard local health: period and timeout scale up to 9x

    def __post_init__(self):
        positive = ("period", "probe_timeout", "suspicion_timeout", "heartbeat_timeout",
                    "reconnect_interval", "max_payload", "retransmit_mult", "sync_chunk")
        for name in positive:
            if not getattr(self, name) > 0:
                raise ValueError(f"{name} must be positive, got {getattr(self, name)!r}")
        for name in ("indirect_probes", "gossip_fanout", "sync_interval", "reap_after",
                     "leave_fanout", "max_health_score"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must not be negative, got {getattr(self, name)!r}")
        if self.probe_timeout >= self.period:
            raise ValueError(f"probe_timeout ({self.probe_timeout}) must be shorter than the "
                             f"period ({self.period}): the indirect probe needs the rest")

    def retransmit_limit(self, members: int) -> int:
        """How many times an update is sent: lambda * ceil(log2(N + 1))."""
        return self.retransmit_mult * max(1, math.ceil(math.log2(members + 1)))
