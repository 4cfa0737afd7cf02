from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.update_post_body_status import (
    UpdatePostBodyStatus,
    check_update_post_body_status,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="UpdatePostBody")


@_attrs_define
class UpdatePostBody:
    """
    Attributes:
        version (int):
        title (str):
        body (str):
        summary (str | Unset):
        tags (list[str] | Unset):
        status (UpdatePostBodyStatus | Unset):
    """

    version: int
    title: str
    body: str
    summary: str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    status: UpdatePostBodyStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        version = self.version

        title = self.title

        body = self.body

        summary = self.summary

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        status: str | Unset = UNSET
        if not isinstance(self.status, Unset):
            status = self.status

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "version": version,
                "title": title,
                "body": body,
            }
        )
        if summary is not UNSET:
            field_dict["summary"] = summary
        if tags is not UNSET:
            field_dict["tags"] = tags
        if status is not UNSET:
            field_dict["status"] = status

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        version = d.pop("version")

        title = d.pop("title")

        body = d.pop("body")

        summary = d.pop("summary", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))

        _status = d.pop("status", UNSET)
        status: UpdatePostBodyStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = check_update_post_body_status(_status)

        update_post_body = cls(
            version=version,
            title=title,
            body=body,
            summary=summary,
            tags=tags,
            status=status,
        )

        return update_post_body
