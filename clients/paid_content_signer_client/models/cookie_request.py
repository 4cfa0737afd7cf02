from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="CookieRequest")


@_attrs_define
class CookieRequest:
    """
    Attributes:
        folder (str):
        expires_in (int | Unset):
    """

    folder: str
    expires_in: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        folder = self.folder

        expires_in = self.expires_in

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "folder": folder,
            }
        )
        if expires_in is not UNSET:
            field_dict["expiresIn"] = expires_in

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        folder = d.pop("folder")

        expires_in = d.pop("expiresIn", UNSET)

        cookie_request = cls(
            folder=folder,
            expires_in=expires_in,
        )

        return cookie_request
