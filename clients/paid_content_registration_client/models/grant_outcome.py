from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.grant_outcome_outcome import (
    GrantOutcomeOutcome,
    check_grant_outcome_outcome,
)

T = TypeVar("T", bound="GrantOutcome")


@_attrs_define
class GrantOutcome:
    """
    Attributes:
        sub (str):
        premium (bool):
        premium_until (None | str):
        plan (None | str):
        outcome (GrantOutcomeOutcome):
    """

    sub: str
    premium: bool
    premium_until: None | str
    plan: None | str
    outcome: GrantOutcomeOutcome
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sub = self.sub

        premium = self.premium

        premium_until: None | str
        premium_until = self.premium_until

        plan: None | str
        plan = self.plan

        outcome: str = self.outcome

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sub": sub,
                "premium": premium,
                "premiumUntil": premium_until,
                "plan": plan,
                "outcome": outcome,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sub = d.pop("sub")

        premium = d.pop("premium")

        def _parse_premium_until(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        premium_until = _parse_premium_until(d.pop("premiumUntil"))

        def _parse_plan(data: object) -> None | str:
            if data is None:
                return data
            return cast(None | str, data)

        plan = _parse_plan(d.pop("plan"))

        outcome = check_grant_outcome_outcome(d.pop("outcome"))

        grant_outcome = cls(
            sub=sub,
            premium=premium,
            premium_until=premium_until,
            plan=plan,
            outcome=outcome,
        )

        grant_outcome.additional_properties = d
        return grant_outcome

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
