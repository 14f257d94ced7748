"""The WKP-1 reference functions for serverless platforms.

`core` is the function as one synchronous, platform-neutral handler over a
small synchronous object store (`stores`); each platform package
(`aws_lambda`, ...) only turns its platform's request into `core.handle` and
the `Reply` back. Every decision is made by the pure modules under
`emulator.protocol`, the same ones the aiohttp function drives.
"""
