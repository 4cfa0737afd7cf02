from __future__ import annotations

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
        cart_id (str):
        status (str):
        currency (str):
        total_cents (int):
        created_at (str):
        lines (list[OrderLine]):
    """

    order_id: str
    cart_id: str
    status: str
    currency: str
    total_cents: int
    created_at: str
    lines: list[OrderLine]
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        order_id = self.order_id

        cart_id = self.cart_id

        status = self.status

        currency = self.currency

        total_cents = self.total_cents

        created_at = self.created_at

        lines = []
        for lines_item_data in self.lines:
            lines_item = lines_item_data.to_dict()
            lines.append(lines_item)

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "orderId": order_id,
                "cartId": cart_id,
                "status": status,
                "currency": currency,
                "totalCents": total_cents,
                "createdAt": created_at,
                "lines": lines,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.order_line import OrderLine  # noqa: PLC0415

        d = dict(src_dict)
        order_id = d.pop("orderId")

        cart_id = d.pop("cartId")

        status = d.pop("status")

        currency = d.pop("currency")

        total_cents = d.pop("totalCents")

        created_at = d.pop("createdAt")

        lines = []
        _lines = d.pop("lines")
        for lines_item_data in _lines:
            lines_item = OrderLine.from_dict(lines_item_data)

            lines.append(lines_item)

        order = cls(
            order_id=order_id,
            cart_id=cart_id,
            status=status,
            currency=currency,
            total_cents=total_cents,
            created_at=created_at,
            lines=lines,
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
