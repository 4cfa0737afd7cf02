from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.cart_line import CartLine


T = TypeVar("T", bound="Cart")


@_attrs_define
class Cart:
    """
    Attributes:
        lines (list[CartLine]):
        unavailable (list[str]):
        currency (None | str):
        total_cents (int | None):
        cart_id (str):
    """

    lines: list[CartLine]
    unavailable: list[str]
    currency: None | str
    total_cents: int | None
    cart_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        unavailable = self.unavailable

        currency: None | str
        currency = self.currency

        total_cents: int | None
        total_cents = self.total_cents

        cart_id = self.cart_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "lines": lines,
                "unavailable": unavailable,
                "currency": currency,
                "totalCents": total_cents,
                "cartId": cart_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.cart_line import CartLine  # noqa: PLC0415

        d = dict(src_dict)
        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = CartLine.from_dict(lines_item_data)

            lines.append(lines_item)

        unavailable = cast(list[str], d.pop("unavailable"))

        def _parse_currency(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        currency = _parse_currency(d.pop("currency"))

        def _parse_total_cents(data: object) -> int | None:
            if data is None:
                return data
            return cast(int | None, data)

        total_cents = _parse_total_cents(d.pop("totalCents"))

        cart_id = d.pop("cartId")

        cart = cls(
            lines=lines,
            unavailable=unavailable,
            currency=currency,
            total_cents=total_cents,
            cart_id=cart_id,
        )

        cart.additional_properties = d
        return cart

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
