"""The sans-I/O WKP-1 core.

Everything here is pure: no sockets, no clock, no asyncio, aiohttp, boto3, simpy
or textual. Time, randomness and ids come in as arguments; results come back as
values or as exceptions carrying an HTTP status hint (h11's error_status_hint).
The function (aiohttp), the fake engines (asyncio) and the simulation (SimPy)
are thin drivers around these modules, so they all make the same decisions.
"""
