from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="Product")


@_attrs_define
class Product:
    """A product with its current price. `version` grows by one with every change.

    Attributes:
        sku (str):
        name (str):
        price_cents (int):
        currency (str):
        version (int):
    """

    sku: str
    name: str
    price_cents: int
    currency: str
    version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sku = self.sku

        name = self.name

        price_cents = self.price_cents

        currency = self.currency

        version = self.version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sku": sku,
                "name": name,
                "priceCents": price_cents,
                "currency": currency,
                "version": version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sku = d.pop("sku")

        name = d.pop("name")

        price_cents = d.pop("priceCents")

        currency = d.pop("currency")

        version = d.pop("version")

        product = cls(
            sku=sku,
            name=name,
            price_cents=price_cents,
            currency=currency,
            version=version,
        )

        product.additional_properties = d
        return product

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
