from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.upload_url_fields import UploadUrlFields


T = TypeVar("T", bound="UploadUrl")


@_attrs_define
class UploadUrl:
    """
    Attributes:
        url (str):
        fields (UploadUrlFields):
        key (str):
        content_type (str):
        max_bytes (int):
        expires_in (int):
    """

    url: str
    fields: UploadUrlFields
    key: str
    content_type: str
    max_bytes: int
    expires_in: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        url = self.url

        fields = self.fields.to_dict()

        key = self.key

        content_type = self.content_type

        max_bytes = self.max_bytes

        expires_in = self.expires_in

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "url": url,
                "fields": fields,
                "key": key,
                "contentType": content_type,
                "maxBytes": max_bytes,
                "expiresIn": expires_in,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.upload_url_fields import UploadUrlFields  # noqa: PLC0415

        d = dict(src_dict)
        url = d.pop("url")

        fields = UploadUrlFields.from_dict(d.pop("fields"))

        key = d.pop("key")

        content_type = d.pop("contentType")

        max_bytes = d.pop("maxBytes")

        expires_in = d.pop("expiresIn")

        upload_url = cls(
            url=url,
            fields=fields,
            key=key,
            content_type=content_type,
            max_bytes=max_bytes,
            expires_in=expires_in,
        )

        upload_url.additional_properties = d
        return upload_url

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
