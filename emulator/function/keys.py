"""Every web.AppKey of the function app, in one place (aiohttp's advice)."""
from __future__ import annotations

from aiohttp import web

CONFIG = web.AppKey("config", object)
STORE = web.AppKey("store", object)
CHAINS = web.AppKey("chains", object)
FAULTS = web.AppKey("faults", object)
METRICS = web.AppKey("metrics", object)
ADMISSION = web.AppKey("admission", object)
BACKGROUND = web.AppKey("background", set)
INSTANCES = web.AppKey("instances", object)  # instances.InstanceHost
INFLIGHT = web.RequestKey("inflight", int)  # requests in flight before this one
RELAYED = web.RequestKey("relayed", int)  # body bytes spliced past aiohttp's own counter
SERVED_BY = web.RequestKey("served_by", tuple)  # (instance id, cold start?) of this request
