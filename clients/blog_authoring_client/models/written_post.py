from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.authored_post_status import AuthoredPostStatus, check_authored_post_status
from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.written_post_invalidation_type_0 import WrittenPostInvalidationType0


T = TypeVar("T", bound="WrittenPost")


@_attrs_define
class WrittenPost:
    """
    Attributes:
        slug (str):
        title (str):
        body (str):
        status (AuthoredPostStatus):
        version (int): Name it in the next update or unpublish
        replayed (bool): This answers a retry: nothing was written
        invalidation (None | WrittenPostInvalidationType0): The CloudFront invalidation of this version (one per
            version); null when readers could not see the change (a draft never published)
        summary (str | Unset):
        tags (list[str] | Unset):
        published_at (datetime.datetime | Unset): The first publication; kept through unpublish and publish again
        created_at (datetime.datetime | Unset):
        updated_at (datetime.datetime | Unset):
    """

    slug: str
    title: str
    body: str
    status: AuthoredPostStatus
    version: int
    replayed: bool
    invalidation: None | WrittenPostInvalidationType0
    summary: str | Unset = UNSET
    tags: list[str] | Unset = UNSET
    published_at: datetime.datetime | Unset = UNSET
    created_at: datetime.datetime | Unset = UNSET
    updated_at: datetime.datetime | Unset = UNSET
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        from ..models.written_post_invalidation_type_0 import (
            WrittenPostInvalidationType0,  # noqa: PLC0415
        )

        slug = self.slug

        title = self.title

        body = self.body

        status: str = self.status

        version = self.version

        replayed = self.replayed

        invalidation: dict[str, Any] | None
        if isinstance(self.invalidation, WrittenPostInvalidationType0):
            invalidation = self.invalidation.to_dict()
        else:
            invalidation = self.invalidation

        summary = self.summary

        tags: list[str] | Unset = UNSET
        if not isinstance(self.tags, Unset):
            tags = self.tags

        published_at: str | Unset = UNSET
        if not isinstance(self.published_at, Unset):
            published_at = self.published_at.isoformat()

        created_at: str | Unset = UNSET
        if not isinstance(self.created_at, Unset):
            created_at = self.created_at.isoformat()

        updated_at: str | Unset = UNSET
        if not isinstance(self.updated_at, Unset):
            updated_at = self.updated_at.isoformat()

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "slug": slug,
                "title": title,
                "body": body,
                "status": status,
                "version": version,
                "replayed": replayed,
                "invalidation": invalidation,
            }
        )
        if summary is not UNSET:
            field_dict["summary"] = summary
        if tags is not UNSET:
            field_dict["tags"] = tags
        if published_at is not UNSET:
            field_dict["publishedAt"] = published_at
        if created_at is not UNSET:
            field_dict["createdAt"] = created_at
        if updated_at is not UNSET:
            field_dict["updatedAt"] = updated_at

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.written_post_invalidation_type_0 import (
            WrittenPostInvalidationType0,  # noqa: PLC0415
        )

        d = dict(src_dict)
        slug = d.pop("slug")

        title = d.pop("title")

        body = d.pop("body")

        status = check_authored_post_status(d.pop("status"))

        version = d.pop("version")

        replayed = d.pop("replayed")

        def _parse_invalidation(data: object) -> None | WrittenPostInvalidationType0:
            if data is None:
                return data
            try:
                if not isinstance(data, dict):
                    raise TypeError()
                invalidation_type_0 = WrittenPostInvalidationType0.from_dict(data)

                return invalidation_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(None | WrittenPostInvalidationType0, data)

        invalidation = _parse_invalidation(d.pop("invalidation"))

        summary = d.pop("summary", UNSET)

        tags = cast(list[str], d.pop("tags", UNSET))

        _published_at = d.pop("publishedAt", UNSET)
        published_at: datetime.datetime | Unset
        if isinstance(_published_at, Unset):
            published_at = UNSET
        else:
            published_at = datetime.datetime.fromisoformat(_published_at)

        _created_at = d.pop("createdAt", UNSET)
        created_at: datetime.datetime | Unset
        if isinstance(_created_at, Unset):
            created_at = UNSET
        else:
            created_at = datetime.datetime.fromisoformat(_created_at)

        _updated_at = d.pop("updatedAt", UNSET)
        updated_at: datetime.datetime | Unset
        if isinstance(_updated_at, Unset):
            updated_at = UNSET
        else:
            updated_at = datetime.datetime.fromisoformat(_updated_at)

        written_post = cls(
            slug=slug,
            title=title,
            body=body,
            status=status,
            version=version,
            replayed=replayed,
            invalidation=invalidation,
            summary=summary,
            tags=tags,
            published_at=published_at,
            created_at=created_at,
            updated_at=updated_at,
        )

        written_post.additional_properties = d
        return written_post

    @property
    def additional_keys(self) -> list[str]:
        return list(self.additional_properties.keys())

    def __getitem__(self, key: str) -> Any:
        return self.additional_properties[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.additional_properties[key] = value

    def __delitem__(self, key: str) -> None:
        del self.additional_properties[key]

    def __contains__(self, key: str) -> bool:
        return key in self.additional_properties
