"""Messages the I/O workers post to the app: the feed in, results of actions out."""
from __future__ import annotations

from textual.message import Message


class FeedEvent(Message):
    """One event of the control API's stream (`kind`, `subject`, `data`, `at`, `seq`)."""

    def __init__(self, event: dict) -> None:
        super().__init__()
        self.event = event


class ViewData(Message):
    """A REST view fetched: `view` is its path (/v1/fleet, /v1/function, ...)."""

    def __init__(self, view: str, data) -> None:
        super().__init__()
        self.view, self.data = view, data


class ActionDone(Message):
    """An action's outcome, for a notification: `ok` False carries the API's error."""

    def __init__(self, text: str, ok: bool = True) -> None:
        super().__init__()
        self.text, self.ok = text, ok


class Connection(Message):
    """The feed's connection changed: connected, or lost with the reason."""

    def __init__(self, connected: bool, reason: str = "") -> None:
        super().__init__()
        self.connected, self.reason = connected, reason
