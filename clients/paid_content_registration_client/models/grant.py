from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="Grant")


@_attrs_define
class Grant:
    """
    Attributes:
        premium_until (int | str): ISO-8601 UTC or epoch seconds, within 10 years
        plan (str | Unset):
    """

    premium_until: int | str
    plan: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        premium_until: int | str
        premium_until = self.premium_until

        plan = self.plan

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "premiumUntil": premium_until,
            }
        )
        if plan is not UNSET:
            field_dict["plan"] = plan

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)

        def _parse_premium_until(data: object) -> int | str:
            return cast(int | str, data)

        premium_until = _parse_premium_until(d.pop("premiumUntil"))

        plan = d.pop("plan", UNSET)

        grant = cls(
            premium_until=premium_until,
            plan=plan,
        )

        return grant
