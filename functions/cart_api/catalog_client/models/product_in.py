from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="ProductIn")


@_attrs_define
class ProductIn:
    """What a caller may set on a product.

    Attributes:
        name (str):
        price_cents (int):
        currency (str | Unset):  Default: 'EUR'.
    """

    name: str
    price_cents: int
    currency: str | Unset = "EUR"

    def to_dict(self) -> dict[str, Any]:
        name = self.name

        price_cents = self.price_cents

        currency = self.currency

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "name": name,
                "priceCents": price_cents,
            }
        )
        if currency is not UNSET:
            field_dict["currency"] = currency

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        name = d.pop("name")

        price_cents = d.pop("priceCents")

        currency = d.pop("currency", UNSET)

        product_in = cls(
            name=name,
            price_cents=price_cents,
            currency=currency,
        )

        return product_in
