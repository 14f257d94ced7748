"""WeftKit Discovery stand-in: the asyncio UDP driver of the membership core, a REST API,
and the client engines use to register. See docs/discovery.md."""
