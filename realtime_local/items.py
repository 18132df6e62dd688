"""Client events on conversation items: create, delete, truncate and retrieve, each acknowledged.

The rules of the items themselves (insertion after `previous_item_id`) are in `conversation`;
this turns the client's events into those calls and sends what the real server answers.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from realtime_local.conversation import ClientError, Conversation, Item, new_id


class ItemEvents:
    """The item events of one session, answered through its send path."""

    def __init__(
        self, conversation: Conversation, send: Callable[[dict[str, Any]], Awaitable[None]]
    ) -> None:
        self.conversation = conversation
        self.send = send

    async def on_create(self, ev: dict[str, Any]) -> None:
        data = copy.deepcopy(ev["item"])
        item_id = data.get("id") or new_id("item")
        if self.conversation.get(item_id) is not None:
            raise ClientError(
                f"Item with id '{item_id}' already exists", "item_create_duplicate_item_id", "id"
            )
        data["id"] = item_id
        data.setdefault("object", "realtime.item")
        data["status"] = "completed"
        if data.get("type") == "message" and data.get("role") == "assistant":
            for part in data.get("content") or []:
                if part.get("type") == "text":
                    part["type"] = "output_text"
        prev = self.conversation.insert(Item(data=data), ev.get("previous_item_id"))
        await self.send({"type": "conversation.item.added", "previous_item_id": prev, "item": data})
        await self.send({"type": "conversation.item.done", "previous_item_id": prev, "item": data})

    async def on_delete(self, ev: dict[str, Any]) -> None:
        item_id = ev["item_id"]
        if self.conversation.get(item_id) is None:
            raise ClientError(
                f"Error deleting item: the item with id '{item_id}' does not exist.",
                "item_delete_invalid_item_id",
                "item_id",
            )
        self.conversation.delete(item_id)
        await self.send({"type": "conversation.item.deleted", "item_id": item_id})

    async def on_truncate(self, ev: dict[str, Any]) -> None:
        item_id, end_ms, index = ev["item_id"], int(ev["audio_end_ms"]), int(ev["content_index"])
        item = self.conversation.get(item_id)
        if item is None:
            raise ClientError(
                f"Error truncating item: the item with id '{item_id}' does not exist.",
                "item_truncate_invalid_item_id",
                "item_id",
            )
        content = item.data.get("content") or []
        if item.data.get("role") != "assistant" or index >= len(content):
            raise ClientError(
                "Only the audio content of an assistant message can be truncated",
                "invalid_value",
                "content_index",
            )
        if end_ms < 0 or end_ms > item.audio_ms + 1:
            raise ClientError(
                f"audio_end_ms ({end_ms}) is outside the item's audio ({item.audio_ms:.0f}ms)",
                "invalid_value",
                "audio_end_ms",
            )
        part = content[index]
        words = str(part.get("transcript") or "").split()
        if item.audio_ms > 0 and words:
            keep = int(len(words) * min(1.0, end_ms / item.audio_ms))
            part["transcript"] = " ".join(words[:keep])
        item.audio_ms = float(end_ms)
        await self.send(
            {
                "type": "conversation.item.truncated",
                "item_id": item_id,
                "content_index": index,
                "audio_end_ms": end_ms,
            }
        )

    async def on_retrieve(self, ev: dict[str, Any]) -> None:
        item = self.conversation.get(ev["item_id"])
        if item is None:
            raise ClientError(
                f"Error retrieving item: the item with id '{ev['item_id']}' does not exist.",
                "item_retrieve_invalid_item_id",
                "item_id",
            )
        await self.send({"type": "conversation.item.retrieved", "item": item.data})
