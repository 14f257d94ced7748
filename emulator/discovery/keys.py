"""Every web.AppKey of the discovery app, in one place (aiohttp's advice)."""
from __future__ import annotations

from aiohttp import web

CONFIG = web.AppKey("config", object)
NODE = web.AppKey("node", object)
