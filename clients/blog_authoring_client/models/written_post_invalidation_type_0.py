from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

T = TypeVar("T", bound="WrittenPostInvalidationType0")


@_attrs_define
class WrittenPostInvalidationType0:
    """The CloudFront invalidation of this version (one per version); null when readers could not see the change (a draft
    never published)

        Attributes:
            id (str):
            paths (list[str]):
    """

    id: str
    paths: list[str]

    def to_dict(self) -> dict[str, Any]:
        id = self.id

        paths = self.paths

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "id": id,
                "paths": paths,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        id = d.pop("id")

        paths = cast(list[str], d.pop("paths"))

        written_post_invalidation_type_0 = cls(
            id=id,
            paths=paths,
        )

        return written_post_invalidation_type_0
