"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .health import Health
from .health_services import HealthServices
from .health_services_additional_property import HealthServicesAdditionalProperty
from .health_services_additional_property_status import (
    HealthServicesAdditionalPropertyStatus,
)
from .health_status import HealthStatus

__all__ = (
    "Error",
    "Health",
    "HealthServices",
    "HealthServicesAdditionalProperty",
    "HealthServicesAdditionalPropertyStatus",
    "HealthStatus",
)
