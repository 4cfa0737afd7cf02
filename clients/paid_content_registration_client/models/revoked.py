from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define
from attrs import field as _attrs_field

from ..models.revoked_outcome import RevokedOutcome, check_revoked_outcome

T = TypeVar("T", bound="Revoked")


@_attrs_define
class Revoked:
    """
    Attributes:
        sub (str):
        premium (bool):
        outcome (RevokedOutcome):
    """

    sub: str
    premium: bool
    outcome: RevokedOutcome
    additional_properties: dict[str, Any] = _attrs_field(init=False, factory=dict)

    def to_dict(self) -> dict[str, Any]:
        sub = self.sub

        premium = self.premium

        outcome: str = self.outcome

        field_dict: dict[str, Any] = {}
        field_dict.update(self.additional_properties)
        field_dict.update(
            {
                "sub": sub,
                "premium": premium,
                "outcome": outcome,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        sub = d.pop("sub")

        premium = d.pop("premium")

        outcome = check_revoked_outcome(d.pop("outcome"))

        revoked = cls(
            sub=sub,
            premium=premium,
            outcome=outcome,
        )

        revoked.additional_properties = d
        return revoked

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
