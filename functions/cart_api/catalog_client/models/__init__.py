"""Contains all the data models used in inputs/outputs"""

from .health_response_health import HealthResponseHealth
from .http_validation_error import HTTPValidationError
from .product import Product
from .product_in import ProductIn
from .product_list import ProductList
from .validation_error import ValidationError
from .validation_error_context import ValidationErrorContext

__all__ = (
    "HealthResponseHealth",
    "HTTPValidationError",
    "Product",
    "ProductIn",
    "ProductList",
    "ValidationError",
    "ValidationErrorContext",
)
