"""The control API: the one way the CLI, the TUI and scenarios reach the supervisor."""
