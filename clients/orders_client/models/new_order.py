from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.new_order_currency import NewOrderCurrency, check_new_order_currency

if TYPE_CHECKING:
    from ..models.order_line import OrderLine


T = TypeVar("T", bound="NewOrder")


@_attrs_define
class NewOrder:
    """
    Attributes:
        items (list[OrderLine]):
        currency (NewOrderCurrency):
        amount (int): Minor units; must equal the sum of the lines
    """

    items: list[OrderLine]
    currency: NewOrderCurrency
    amount: int

    def to_dict(self) -> dict[str, Any]:
        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        currency: str = self.currency

        amount = self.amount

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "items": items,
                "currency": currency,
                "amount": amount,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_line import OrderLine  # noqa: PLC0415

        d = dict(src_dict)
        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = OrderLine.from_dict(items_item_data)

            items.append(items_item)

        currency = check_new_order_currency(d.pop("currency"))

        amount = d.pop("amount")

        new_order = cls(
            items=items,
            currency=currency,
            amount=amount,
        )

        return new_order
