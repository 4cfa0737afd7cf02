"""Contains all the data models used in inputs/outputs"""

from .checkout_request import CheckoutRequest
from .health_response_health import HealthResponseHealth
from .http_validation_error import HTTPValidationError
from .order import Order
from .order_line import OrderLine
from .problem import Problem
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext

__all__ = (
    "CheckoutRequest",
    "HealthResponseHealth",
    "HTTPValidationError",
    "Order",
    "OrderLine",
    "Problem",
    "ValidationError",
    "ValidationErrorContext",
)
