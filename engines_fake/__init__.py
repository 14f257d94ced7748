"""Fake WeftKit engines: one OS process per engine, with a real volume, a data
API and the engine side of WKP-1 (driver of emulator.protocol.engine_machine)."""
