from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.create_post_body_status import (
    CreatePostBodyStatus,
    check_create_post_body_status,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="CreatePostBody")


@_attrs_define
class CreatePostBody:
    """
    Attributes:
        slug (str):
        title (str):
        body (str):
        summary (str | Unset):
        tags (list[str] | Unset):
        status (CreatePostBodyStatus | Unset):
    """

    slug: str
    title: str
    body: str
    summary: str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    status: CreatePostBodyStatus | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        slug = self.slug

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
                "slug": slug,
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
        slug = d.pop("slug")

        title = d.pop("title")

        body = d.pop("body")

        summary = d.pop("summary", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))

        _status = d.pop("status", UNSET)
        status: CreatePostBodyStatus | Unset
        if isinstance(_status, Unset):
            status = UNSET
        else:
            status = check_create_post_body_status(_status)

        create_post_body = cls(
            slug=slug,
            title=title,
            body=body,
            summary=summary,
            tags=tags,
            status=status,
        )

        return create_post_body
