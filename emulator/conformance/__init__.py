"""The WKP-1 conformance kit: a black-box suite for any WKP-1 function.

`wkp-emu conformance --endpoint URL --secret S` signs real requests with the
same code our engines use (emulator.protocol.signed_requests), sends them over
HTTP with aiohttp, and judges the answers only by the contract (seed 000) and,
for clauses marked "extension", by docs/protocol-decisions.md.

Modules: model (clauses, outcomes), registry (the clause table), client (HTTP),
context (a clause's namespace and push helpers), expect (checks on replies),
clauses/ (the clauses themselves), runner (runs them, one fresh instance and a
timeout each), report (pure formatting), command (the CLI).
"""
