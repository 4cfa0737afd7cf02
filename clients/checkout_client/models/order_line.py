from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

T = TypeVar("T", bound="OrderLine")


@_attrs_define
class OrderLine:
    """
    Attributes:
        sku (str):
        name (str):
        quantity (int):
        unit_price_cents (int):
        price_version (int):
    """

    sku: str
    name: str
    quantity: int
    unit_price_cents: int
    price_version: int
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sku = self.sku

        name = self.name

        quantity = self.quantity

        unit_price_cents = self.unit_price_cents

        price_version = self.price_version

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sku": sku,
                "name": name,
                "quantity": quantity,
                "unitPriceCents": unit_price_cents,
                "priceVersion": price_version,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sku = d.pop("sku")

        name = d.pop("name")

        quantity = d.pop("quantity")

        unit_price_cents = d.pop("unitPriceCents")

        price_version = d.pop("priceVersion")

        order_line = cls(
            sku=sku,
            name=name,
            quantity=quantity,
            unit_price_cents=unit_price_cents,
            price_version=price_version,
        )

        order_line.additional_properties = d
        return order_line

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
