from typing import Literal

HealthServicesAdditionalPropertyStatus = Literal["degraded", "ok"]

HEALTH_SERVICES_ADDITIONAL_PROPERTY_STATUS_VALUES: set[
    HealthServicesAdditionalPropertyStatus
] = {
    "degraded",
    "ok",
}


def check_health_services_additional_property_status(
    value: str,
) -> HealthServicesAdditionalPropertyStatus:
    if value in HEALTH_SERVICES_ADDITIONAL_PROPERTY_STATUS_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {HEALTH_SERVICES_ADDITIONAL_PROPERTY_STATUS_VALUES!r}"
    )
