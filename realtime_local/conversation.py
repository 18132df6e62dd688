"""The conversation a Realtime session holds: its items, in order, and the protocol's errors.

Plain data with the protocol's insertion rules (`previous_item_id`: "root", an existing item,
or the end); `items` turns client events into calls here and acknowledges them.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


class ClientError(Exception):
    """A client event the server rejects with a protocol `error` event."""

    def __init__(self, message: str, code: str, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param


@dataclass
class Item:
    data: dict[str, Any]  # the item as the protocol shows it
    audio_ms: float = 0.0  # length of assistant audio (or the user's committed audio)
    transcript: str | None = None  # user audio: what the scenario says was spoken


class Conversation:
    def __init__(self) -> None:
        self.items: list[Item] = []
        self._by_id: dict[str, Item] = {}

    def get(self, item_id: str) -> Item | None:
        return self._by_id.get(item_id)

    @property
    def tail_id(self) -> str | None:
        return self.items[-1].data["id"] if self.items else None

    def insert(self, item: Item, previous_item_id: str | None) -> str | None:
        """Insert after `previous_item_id` ("root": first; None: last); returns the real one."""
        if previous_item_id is None:
            prev = self.tail_id
            self.items.append(item)
        elif previous_item_id == "root":
            prev = None
            self.items.insert(0, item)
        else:
            idx = next(
                (i for i, it in enumerate(self.items) if it.data["id"] == previous_item_id), None
            )
            if idx is None:
                raise ClientError(
                    f"previous_item_id '{previous_item_id}' does not exist in the conversation",
                    "item_invalid_previous_item_id",
                    "previous_item_id",
                )
            prev = previous_item_id
            self.items.insert(idx + 1, item)
        self._by_id[item.data["id"]] = item
        return prev

    def delete(self, item_id: str) -> None:
        item = self._by_id.pop(item_id)
        self.items.remove(item)
