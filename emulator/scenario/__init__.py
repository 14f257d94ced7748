"""Scenarios: scripted scale, recycle and fault timelines with verdicts.

A scenario file (TOML) says what happens (`[[step]]`) and what must hold
(`[[expect]]`). The format knows nothing of how a runner drives the stack, so
the live runner (`live.py`, through the control API) and a simulator can run
the same files. Layers: `model` (frozen values), `loader` (file -> Scenario or
an error naming the key and line), `timeline` (pure checks of what can happen
when), `evidence` (what a run recorded, and pure measures over it),
`expectations` (pure verdicts), `report` and `picture` (output), `live` (the
runner), `command` (the CLI), `pytest_plugin` (for users' suites).
"""
