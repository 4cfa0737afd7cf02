from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

T = TypeVar("T", bound="CheckoutRequest")


@_attrs_define
class CheckoutRequest:
    """
    Attributes:
        cart_id (str):
    """

    cart_id: str

    def to_dict(self) -> dict[str, Any]:
        cart_id = self.cart_id

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "cartId": cart_id,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        cart_id = d.pop("cartId")

        checkout_request = cls(
            cart_id=cart_id,
        )

        return checkout_request
