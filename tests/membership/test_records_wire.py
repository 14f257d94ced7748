"""Which record wins, and the datagram format."""
import pytest

from emulator.membership import (Ack, Gossip, IndirectAck, Join, Member, Meta, Ping, PingReq,
                                 Status, Sync, Update, supersedes)
from emulator.membership import wire

A, S, F, L = Status.ALIVE, Status.SUSPECT, Status.FAILED, Status.LEFT


def rec(status, inc):
    return Member("x", inc, status, "h:1")


@pytest.mark.parametrize("new,old,wins", [
    (rec(A, 1), rec(A, 0), True), (rec(A, 0), rec(A, 0), False), (rec(A, 0), rec(S, 0), False),
    (rec(A, 1), rec(S, 0), True),  # refutation
    (rec(S, 0), rec(A, 0), True), (rec(S, 0), rec(A, 1), False), (rec(S, 0), rec(S, 0), False),
    (rec(F, 0), rec(S, 0), True), (rec(F, 0), rec(A, 0), True), (rec(F, 0), rec(A, 1), False),
    (rec(A, 0), rec(F, 0), False), (rec(A, 1), rec(F, 0), True),  # rejoin after failure
    (rec(L, 0), rec(F, 0), True), (rec(F, 0), rec(L, 0), False), (rec(A, 1), rec(L, 0), True),
    (rec(S, 2), rec(F, 1), True), (rec(A, 0), None, True),
])
def test_precedence(new, old, wins):
    assert supersedes(new, old) is wins


META = Meta("relational", "postgres", "127.0.0.1:5432", ("relational-primary", "é"))
HOSTED = Member("engine-1", 3, Status.SUSPECT, None, "disc-1", META)
NODE = Member("disc-1", 7, Status.ALIVE, "127.0.0.1:7474", None, Meta("discovery", "swim"))
UPDATES = (Update(HOSTED, 1.25), Update(NODE))


@pytest.mark.parametrize("msg", [
    Ping(1, "a", "b", UPDATES), Ack(2, "b", UPDATES), Ack(2, "b"),
    PingReq(3, "a", "b", "127.0.0.1:9", UPDATES), IndirectAck(3, "c", "b", UPDATES),
    Gossip("a", UPDATES), Join("a", NODE), Sync("a", UPDATES, True), Sync("a", (), False),
])
def test_every_message_round_trips(msg):
    assert wire.decode(wire.encode(msg)) == msg


def test_update_size_is_its_share_of_the_datagram():
    with_two = len(wire.encode(Gossip("a", UPDATES)))
    with_one = len(wire.encode(Gossip("a", UPDATES[:1])))
    assert with_two - with_one == wire.update_size(UPDATES[1])


@pytest.mark.parametrize("data,complaint", [
    (b"\xff\xfe", "not JSON"), (b"[]", "JSON object"), (b'{"v":2,"k":"ping"}', "version"),
    (b'{"v":1,"k":"shout"}', "unknown message kind"), (b'{"v":1,"k":"ping","q":1,"s":"a"}', "missing"),
    (b'{"v":1,"k":"ack","q":-1,"s":"a","u":[]}', "seq"),
    (b'{"v":1,"k":"ack","q":true,"s":"a","u":[]}', "seq"),
    (b'{"v":1,"k":"ack","q":1,"s":5,"u":[]}', "source"),
    (b'{"v":1,"k":"gossip","s":"a","u":{}}', "list"),
    (b'{"v":1,"k":"gossip","s":"a","u":[[1]]}', "10 fields"),
    (b'{"v":1,"k":"gossip","s":"a","u":[["x",0,"z",null,null,"","","",[],0]]}', "status"),
    (b'{"v":1,"k":"gossip","s":"a","u":[["",0,"a",null,null,"","","",[],0]]}', "empty"),
    (b'{"v":1,"k":"gossip","s":"a","u":[["x",0,"a",null,null,"","","","g",0]]}', "groups"),
])
def test_malformed_datagrams_are_refused_with_a_reason(data, complaint):
    with pytest.raises(wire.WireError, match=complaint):
        wire.decode(data)
