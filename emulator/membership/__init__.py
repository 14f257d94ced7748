"""Sans-I/O SWIM membership: the table, the protocol, the wire format.

Pure: imports nothing from asyncio, aiohttp, boto3, simpy or textual (a test
checks), so the live UDP driver (emulator.discovery) and a simulation can run
the same decisions. Start at swim.py for the theory of operation.
"""
from .messages import (Ack, Gossip, IndirectAck, Join, MemberChanged, MemberReaped, Ping,
                       PingReq, Send, Sync, Update)
from .params import SwimParams
from .records import Member, Meta, Status, supersedes
from .swim import Membership, NotHostedHere, RegistrationConflict

__all__ = ["Ack", "Gossip", "IndirectAck", "Join", "MemberChanged", "MemberReaped", "Ping",
           "PingReq", "Send", "Sync", "Update", "SwimParams", "Member", "Meta", "Status",
           "supersedes", "Membership", "NotHostedHere", "RegistrationConflict"]
