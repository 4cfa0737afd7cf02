"""Contains all the data models used in inputs/outputs"""

from .cart import Cart
from .cart_line import CartLine
from .created_cart import CreatedCart
from .error_body import ErrorBody
from .http_validation_error import HTTPValidationError
from .priced_items import PricedItems
from .quantity_change import QuantityChange
from .quote_item import QuoteItem
from .quote_request import QuoteRequest
from .response_validation_error import ResponseValidationError
from .validation_error import ValidationError

__all__ = (
    "Cart",
    "CartLine",
    "CreatedCart",
    "ErrorBody",
    "HTTPValidationError",
    "PricedItems",
    "QuantityChange",
    "QuoteItem",
    "QuoteRequest",
    "ResponseValidationError",
    "ValidationError",
)
