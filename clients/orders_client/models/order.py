from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

if TYPE_CHECKING:
    from ..models.order_line import OrderLine


T = TypeVar("T", bound="Order")


@_attrs_define
class Order:
    """
    Attributes:
        order_id (str):
        status (str):
        items (list[OrderLine]):
        currency (str):
        amount (int):
        created_at (datetime.datetime):
        correlation_id (str):
    """

    order_id: str
    status: str
    items: list[OrderLine]
    currency: str
    amount: int
    created_at: datetime.datetime
    correlation_id: str
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = self.order_id

        status = self.status

        items = []
        for items_item_data in self.items:
            items_item = items_item_data.to_dict()
            items.append(items_item)

        currency = self.currency

        amount = self.amount

        created_at = self.created_at.isoformat()

        correlation_id = self.correlation_id

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "orderId": order_id,
                "status": status,
                "items": items,
                "currency": currency,
                "amount": amount,
                "createdAt": created_at,
                "correlationId": correlation_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_line import OrderLine  # noqa: PLC0415

        d = dict(src_dict)
        order_id = d.pop("orderId")

        status = d.pop("status")

        items = []
        _items = d.pop("items")
        for items_item_data in _items:
            items_item = OrderLine.from_dict(items_item_data)

            items.append(items_item)

        currency = d.pop("currency")

        amount = d.pop("amount")

        created_at = datetime.datetime.fromisoformat(d.pop("createdAt"))

        correlation_id = d.pop("correlationId")

        order = cls(
            order_id=order_id,
            status=status,
            items=items,
            currency=currency,
            amount=amount,
            created_at=created_at,
            correlation_id=correlation_id,
        )

        order.additional_properties = d
        return order

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
