"""The fleet view: a Textual TUI over the control API (`wkp-emu tui`, and `up` on a terminal).

It renders what the control API reports (its event stream and REST views) and
sends the control API's actions; it holds no emulator logic of its own.
"""
