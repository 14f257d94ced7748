"""The SWIM membership core: one node's protocol, with no sockets and no clock.

Theory of operation
-------------------
Drivers feed it datagrams (`handle_message(msg, sender_addr, now)`) and wake-ups
(`handle_timer(now)` at `next_deadline()`); both return effects: `Send` a
message, `MemberChanged`, `MemberReaped`. Randomness comes from an injected
`random.Random`, time from the `now` arguments, so tests move the clock by hand
and a simulation can drive the same decisions.

Each protocol period T the node probes one member, round-robin over a shuffled
list (probing.ProbeRing): a Ping, and if no Ack within `probe_timeout`, PingReqs
through k other members, any of which relays an IndirectAck. No ack by the end
of the period: the member is suspected. A suspicion is refuted by the member
itself with a higher incarnation, or becomes failed `suspicion_timeout` after the
first suspicion (messages.Update carries the suspicion's age). Changes ride on
protocol messages (dissemination.BroadcastQueue), each sent at most
lambda*ceil(log2(N+1)) times. While a change is hot (sent fewer than lambda
times by this node) it is also pushed each period to `gossip_fanout` random
members in datagrams of their own; the rest of its retransmissions ride only on
pings and acks, which are sent anyway. That keeps dissemination at one or two
periods while a burst of changes costs bytes, not extra datagrams: with many
nodes sharing a CPU, extra datagrams are what saturates it. Joins and partition
healing use
push-pull Syncs of the whole table. A graceful leave is a `left` record.

Local health (from Lifeguard, Dadgar et al. 2018): a node that has to refute a
suspicion about itself is probably the slow one (a starved CPU, a full socket
buffer). Its score rises by one per refutation and falls by one per acked
probe, and its own probe period and ack timeout stretch by (1 + score), so a
struggling node stops accusing others of its own slowness. A healthy cluster
keeps the score at 0 and the timing of the paper.

Hosted members (hosting.HostedMembers) are instances that do not speak SWIM:
they heartbeat this node, which gossips for them and vouches for them. Missed
heartbeats make them suspect, then failed; when their host fails or leaves,
every node marks them failed too (nobody vouches for them any more).
"""
from __future__ import annotations

import random

from .dissemination import BroadcastQueue
from .hosting import HostedMembers, NotHostedHere, RegistrationConflict
from .messages import (Ack, Effect, Gossip, IndirectAck, Join, MemberChanged, MemberReaped,
                       Message, Ping, PingReq, Send, Sync, Update)
from .params import SwimParams
from .probing import Probe, ProbeRing, Relay
from .records import Member, Meta, Status, precedence, supersedes
from .table import Entry, MemberTable
from .wire import update_size

__all__ = ["Membership", "NotHostedHere", "RegistrationConflict"]


class Membership:
    def __init__(self, me: Member, params: SwimParams, rng: random.Random, now: float,
                 seeds: tuple[str, ...] = ()):
        if me.addr is None:
            raise ValueError("a SWIM node needs its own gossip address")
        self.params = params
        self.rng = rng
        self.me = me.node_id
        self.seeds = tuple(s for s in seeds if s != me.addr)
        self.table = MemberTable()
        self.queue = BroadcastQueue()
        self.ring = ProbeRing(rng)
        self.hosted = HostedMembers(self)
        self.probe: Probe | None = None
        self.relays: dict[int, Relay] = {}
        self.leaving = False
        self.health = 0  # local health score (Lifeguard), 0 = healthy
        self._seq = 0
        self._sizes: dict[str, tuple[Member, int]] = {}
        self._derived: tuple[int, float, float, int] | None = None
        self._next_period = now
        self._next_reconnect = now + params.reconnect_interval
        self._next_sync = now + params.sync_interval
        self.table.put(me.with_status(Status.ALIVE), now)
        self.queue.enqueue(self.me)

    # -- views -------------------------------------------------------------

    @property
    def self_member(self) -> Member:
        return self.table.member(self.me)

    def members(self) -> list[Member]:
        return self.table.members()

    def entry(self, node_id: str) -> Entry | None:
        return self.table.get(node_id)

    def gossiping_count(self) -> int:
        """N for the retransmit limit: live members that gossip, this node included."""
        return self._table_facts()[3]

    def _table_facts(self) -> tuple[int, float, float, int]:
        """(version, earliest suspicion deadline, earliest reap, N), cached per table
        version: messages that change nothing cost no scan of the table."""
        facts = self._derived
        if facts is None or facts[0] != self.table.version:
            timeout, reap = self.params.suspicion_timeout, self.params.reap_after
            suspicion = reaping = float("inf")
            gossiping = 0
            for entry in self.table:
                member = entry.member
                if entry.suspected_at is not None:
                    suspicion = min(suspicion, entry.suspected_at + timeout)
                elif reap and member.status in (Status.FAILED, Status.LEFT) \
                        and member.node_id != self.me:
                    reaping = min(reaping, entry.since + reap)
                if member.addr is not None and member.status.live:
                    gossiping += 1
            facts = self._derived = (self.table.version, suspicion, reaping, max(1, gossiping))
        return facts

    # -- driver entry points -----------------------------------------------

    def handle_message(self, msg: Message, sender_addr: str, now: float) -> list[Effect]:
        if self.leaving:
            return []
        effects: list[Effect] = []
        if msg.source != self.me:
            self.table.saw(msg.source, now)
        if isinstance(msg, Join):
            self.merge(Update(msg.member), now, effects)
        for update in getattr(msg, "updates", ()):
            self.merge(update, now, effects)
        _HANDLERS[type(msg)](self, msg, sender_addr, now, effects)
        return effects

    def handle_timer(self, now: float) -> list[Effect]:
        if self.leaving:
            return []
        effects: list[Effect] = []
        probe = self.probe
        if probe and not probe.acked and not probe.indirect_sent and now >= probe.direct_deadline:
            self._probe_indirectly(probe, now, effects)
        if now >= self._next_period:
            self._end_period(now, effects)
            self._start_period(now, effects)
        self._expire_suspicions(now, effects)
        self.hosted.check(now, effects)
        self._anti_entropy(now, effects)
        self._reap(now, effects)
        return effects

    def next_deadline(self) -> float:
        deadlines = [self._next_period, self._next_reconnect]
        if self.params.sync_interval:
            deadlines.append(self._next_sync)
        probe = self.probe
        if probe and not probe.acked and not probe.indirect_sent:
            deadlines.append(probe.direct_deadline)
        _, suspicion, reaping, _ = self._table_facts()
        deadlines += [suspicion, reaping]
        deadlines.extend(self.hosted.deadlines())
        return min(deadlines)

    def leave(self, now: float) -> list[Effect]:
        """Graceful leave: tell `leave_fanout` members directly; gossip does the rest."""
        if self.leaving:
            return []
        me = self.self_member
        self.table.put(me.with_status(Status.LEFT), now)
        self.queue.enqueue(self.me)
        peers = self.table.peers(self.me)
        chosen = self.rng.sample(peers, min(len(peers), self.params.leave_fanout))
        effects: list[Effect] = [MemberChanged(self.self_member, Status.ALIVE, now)]
        for peer in chosen:
            effects.append(Send(peer.addr, Gossip(self.me, self.piggyback(peer.node_id, now)),
                                peer.node_id))
        self.hosted.orphan(self.me, now, effects)
        self.leaving = True
        return effects

    # -- hosted members (see hosting.py) -------------------------------------

    def register(self, node_id: str, meta: Meta, now: float) -> tuple[Member, list[Effect]]:
        return self.hosted.register(node_id, meta, now)

    def heartbeat(self, node_id: str, now: float) -> tuple[Member | None, list[Effect]]:
        return self.hosted.heartbeat(node_id, now)

    def deregister(self, node_id: str, now: float) -> tuple[Member, list[Effect]]:
        return self.hosted.deregister(node_id, now)

    # -- merging gossip ----------------------------------------------------

    def merge(self, update: Update, now: float, effects: list[Effect]) -> None:
        member = update.member
        if member.node_id == self.me:
            self._refute_about_self(member, now, effects)
        elif self.hosted.vouches_for(member.node_id, now):
            self.hosted.merge_claim(member, now, effects)
        else:
            self._apply(member, now, effects, update.suspect_age)

    def _apply(self, member: Member, now: float, effects: list[Effect], suspect_age: float = 0.0):
        current = self.table.member(member.node_id)
        if not supersedes(member, current):
            if current == member and member.status is Status.SUSPECT:
                self.table.tighten(member.node_id, now, suspect_age)
            return
        if member.host not in (None, self.me) and member.status.live:
            host = self.table.member(member.host)
            if host is not None and not host.status.live:
                member = member.with_status(Status.FAILED)  # nobody vouches for it now
        self.record(member, now, effects, suspect_age=suspect_age)
        if member.host == self.me and member.status.live:
            self.hosted.adopt(member.node_id, now)

    def record(self, member: Member, now: float, effects: list[Effect], *,
               suspect_age: float = 0.0, gossip: bool = True) -> None:
        """Store a record this node accepted or decided, with all that follows from it."""
        before = self.table.member(member.node_id)
        self.table.put(member, now, suspect_age=suspect_age)
        if gossip:
            self.queue.enqueue(member.node_id)
        if member.node_id != self.me and member.addr is not None:
            (self.ring.add if member.status.live else self.ring.remove)(member.node_id)
        if before is None or (before.status, before.meta, before.host) != (
                member.status, member.meta, member.host):
            effects.append(MemberChanged(member, before.status if before else None, now))
        if member.addr is not None and not member.status.live:
            self.hosted.orphan(member.node_id, now, effects)

    def _refute_about_self(self, claim: Member, now: float, effects: list[Effect]) -> None:
        """Someone holds news about us at our incarnation or later: outbid it."""
        me = self.self_member
        if claim == me or precedence(claim) < precedence(me):
            return
        inc = max(claim.incarnation, me.incarnation) + 1
        self.table.put(me.with_status(Status.ALIVE, inc), now)
        self.queue.enqueue(self.me)
        if claim.status in (Status.SUSPECT, Status.FAILED):
            self.health = min(self.params.max_health_score, self.health + 1)
        if not claim.status.live:
            self.hosted.reassert_all(now, effects)  # others marked our hosted members failed

    # -- the protocol period -------------------------------------------------

    def _end_period(self, now: float, effects: list[Effect]) -> None:
        probe, self.probe = self.probe, None
        if probe and probe.acked:
            self.health = max(0, self.health - 1)
        if probe and not probe.acked:
            target = self.table.member(probe.target)
            if target is not None and target.status is Status.ALIVE:
                self.record(target.with_status(Status.SUSPECT), now, effects)
        self.relays = {seq: r for seq, r in self.relays.items() if r.expires > now}

    def _start_period(self, now: float, effects: list[Effect]) -> None:
        p = self.params
        scale = 1 + self.health
        self._next_period += p.period * scale
        if self._next_period <= now:  # woken late: do not burst to catch up
            self._next_period = now + p.period * scale
        target = self.ring.next()
        if target is not None:
            member = self.table.member(target)
            seq = self._next_seq()
            self.probe = Probe(target, seq, now, now + p.probe_timeout * scale, self._next_period)
            effects.append(Send(member.addr, Ping(seq, self.me, target, self.piggyback(target, now)),
                                target))
        if p.gossip_fanout and self.queue.hot(p.retransmit_mult):
            peers = self.table.peers(self.me)
            for peer in self.rng.sample(peers, min(len(peers), p.gossip_fanout)):
                updates = self.piggyback(peer.node_id, now, hot_only=True)
                if updates:
                    effects.append(Send(peer.addr, Gossip(self.me, updates), peer.node_id))
        if self.seeds and not self.table.peers(self.me):
            me = self.self_member
            effects.extend(Send(seed, Join(self.me, me)) for seed in self.seeds)

    def _probe_indirectly(self, probe: Probe, now: float, effects: list[Effect]) -> None:
        probe.indirect_sent = True
        target = self.table.member(probe.target)
        if target is None or target.addr is None:
            return
        helpers = [m for m in self.table.peers(self.me, (Status.ALIVE,))
                   if m.node_id != probe.target]
        for helper in self.rng.sample(helpers, min(len(helpers), self.params.indirect_probes)):
            msg = PingReq(probe.seq, self.me, probe.target, target.addr,
                          self.piggyback(helper.node_id, now))
            effects.append(Send(helper.addr, msg, helper.node_id))

    def _expire_suspicions(self, now: float, effects: list[Effect]) -> None:
        if now < self._table_facts()[1]:
            return
        timeout = self.params.suspicion_timeout
        for entry in self.table:
            if entry.suspected_at is not None and now >= entry.suspected_at + timeout:
                self.record(entry.member.with_status(Status.FAILED), now, effects)

    def _anti_entropy(self, now: float, effects: list[Effect]) -> None:
        p = self.params
        if now >= self._next_reconnect:
            self._next_reconnect = now + p.reconnect_interval
            failed = self.table.peers(self.me, (Status.FAILED,))
            if failed:
                self._send_sync(self.rng.choice(failed), now, effects, want_reply=True)
        if p.sync_interval and now >= self._next_sync:
            self._next_sync = now + p.sync_interval
            live = self.table.peers(self.me)
            if live:
                self._send_sync(self.rng.choice(live), now, effects, want_reply=True)

    def _reap(self, now: float, effects: list[Effect]) -> None:
        if now < self._table_facts()[2]:
            return
        for entry in self.table:
            member = entry.member
            if (member.status in (Status.FAILED, Status.LEFT) and member.node_id != self.me
                    and now >= entry.since + self.params.reap_after):
                self.table.remove(member.node_id)
                self.queue.discard(member.node_id)
                self.ring.remove(member.node_id)
                self._sizes.pop(member.node_id, None)
                effects.append(MemberReaped(member.node_id, now))

    # -- building messages -------------------------------------------------

    def _next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def update_for(self, node_id: str, now: float) -> Update:
        entry = self.table.get(node_id)
        age = now - entry.suspected_at if entry.suspected_at is not None else 0.0
        return Update(entry.member, max(0.0, age))

    def _size(self, node_id: str) -> int:
        member = self.table.member(node_id)
        cached = self._sizes.get(node_id)
        if cached is None or cached[0] is not member:
            cached = self._sizes[node_id] = (member, update_size(Update(member)) + 8)
        return cached[1]

    def piggyback(self, to: str | None, now: float, *, hot_only: bool = False
                  ) -> tuple[Update, ...]:
        """Updates for a message to `to`. First the recipient's own suspicion, so it can
        refute; then our own record while it is queued (a refutation, say), so that
        every message we send carries it (Lifeguard's "buddy system" does the first)."""
        first: list[str] = []
        recipient = self.table.member(to) if to else None
        if recipient is not None and recipient.status is not Status.ALIVE:
            first.append(to)
        if self.me in self.queue:
            first.append(self.me)
        budget = self.params.max_payload - sum(self._size(i) for i in first)
        limit = self.params.retransmit_limit(self.gossiping_count())
        for node_id in first:
            self.queue.sent_once_more(node_id, limit)
        below = self.params.retransmit_mult if hot_only else None
        chosen = self.queue.take(limit=limit, budget=budget, size_of=self._size, skip=first,
                                 below=below)
        return tuple(self.update_for(node_id, now) for node_id in first + chosen)

    def _send_sync(self, peer: Member | str, now: float, effects: list[Effect], *,
                   want_reply: bool, to: str | None = None) -> None:
        addr = peer.addr if isinstance(peer, Member) else peer
        to = peer.node_id if isinstance(peer, Member) else to
        updates = [self.update_for(m.node_id, now) for m in self.table.members()]
        chunk = self.params.sync_chunk
        for start in range(0, len(updates), chunk):
            msg = Sync(self.me, tuple(updates[start:start + chunk]), want_reply and start == 0)
            effects.append(Send(addr, msg, to))

    # -- message handlers (after the piggybacked updates are merged) ---------

    def _on_ping(self, msg: Ping, sender: str, now: float, effects: list[Effect]) -> None:
        if msg.target == self.me:
            effects.append(Send(sender, Ack(msg.seq, self.me, self.piggyback(msg.source, now)),
                                msg.source))

    def _on_ack(self, msg: Ack, sender: str, now: float, effects: list[Effect]) -> None:
        if self.probe and msg.seq == self.probe.seq and msg.source == self.probe.target:
            self.probe.acked = True
            return
        relay = self.relays.pop(msg.seq, None)
        if relay is not None and relay.target == msg.source:
            reply = IndirectAck(relay.requester_seq, self.me, relay.target,
                                self.piggyback(relay.requester, now))
            effects.append(Send(relay.requester_addr, reply, relay.requester))

    def _on_ping_req(self, msg: PingReq, sender: str, now: float, effects: list[Effect]) -> None:
        seq = self._next_seq()
        self.relays[seq] = Relay(sender, msg.seq, msg.source, msg.target, now + self.params.period)
        ping = Ping(seq, self.me, msg.target, self.piggyback(msg.target, now))
        effects.append(Send(msg.target_addr, ping, msg.target))

    def _on_indirect_ack(self, msg: IndirectAck, sender: str, now: float,
                         effects: list[Effect]) -> None:
        if self.probe and msg.seq == self.probe.seq and msg.target == self.probe.target:
            self.probe.acked = True
            self.table.saw(msg.target, now)

    def _on_gossip(self, msg: Gossip, sender: str, now: float, effects: list[Effect]) -> None:
        pass  # the updates were the whole message

    def _on_join(self, msg: Join, sender: str, now: float, effects: list[Effect]) -> None:
        self._send_sync(sender, now, effects, want_reply=False, to=msg.source)

    def _on_sync(self, msg: Sync, sender: str, now: float, effects: list[Effect]) -> None:
        if msg.want_reply:
            self._send_sync(sender, now, effects, want_reply=False, to=msg.source)


_HANDLERS = {
    Ping: Membership._on_ping,
    Ack: Membership._on_ack,
    PingReq: Membership._on_ping_req,
    IndirectAck: Membership._on_indirect_ack,
    Gossip: Membership._on_gossip,
    Join: Membership._on_join,
    Sync: Membership._on_sync,
}
