from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any, TypeVar
from uuid import UUID

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Todo")


@_attrs_define
class Todo:
    """
    Attributes:
        todo_id (UUID):
        title (str):
        done (bool):
        created_at (datetime.datetime):
        updated_at (datetime.datetime):
        notes (str | Unset):
    """

    todo_id: UUID
    title: str
    done: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime
    notes: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        todo_id = str(self.todo_id)

        title = self.title

        done = self.done

        created_at = self.created_at.isoformat()

        updated_at = self.updated_at.isoformat()

        notes = self.notes

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "todoId": todo_id,
                "title": title,
                "done": done,
                "createdAt": created_at,
                "updatedAt": updated_at,
            }
        )
        if notes is not UNSET:
            field_dict["notes"] = notes

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        todo_id = UUID(d.pop("todoId"))

        title = d.pop("title")

        done = d.pop("done")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        updated_at = datetime.datetime.fromisoformat(d.pop("updatedAt"))

        notes = d.pop("notes", UNSET)

        todo = cls(
            todo_id=todo_id,
            title=title,
            done=done,
            created_at=created_at,
            updated_at=updated_at,
            notes=notes,
        )

        return todo
