from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.health_services_additional_property_status import (
    HealthServicesAdditionalPropertyStatus,
    check_health_services_additional_property_status,
)

T = TypeVar("T", bound="HealthServicesAdditionalProperty")


@_attrs_define
class HealthServicesAdditionalProperty:
    """
    Attributes:
        status (HealthServicesAdditionalPropertyStatus):
        alarms_firing (int):
    """

    status: HealthServicesAdditionalPropertyStatus
    alarms_firing: int

    def to_dict(self) -> dict[str, Any]:
        status: str = self.status

        alarms_firing = self.alarms_firing

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "status": status,
                "alarmsFiring": alarms_firing,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        status = check_health_services_additional_property_status(d.pop("status"))

        alarms_firing = d.pop("alarmsFiring")

        health_services_additional_property = cls(
            status=status,
            alarms_firing=alarms_firing,
        )

        return health_services_additional_property
