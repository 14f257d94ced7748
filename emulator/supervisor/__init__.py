"""The emulator supervisor: `wkp-emu up` runs the store, function, discovery and a fleet."""
