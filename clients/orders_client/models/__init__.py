"""Contains all the data models used in inputs/outputs"""

from .error import Error
from .new_order import NewOrder
from .new_order_currency import NewOrderCurrency
from .order import Order
from .order_line import OrderLine

__all__ = (
    "Error",
    "NewOrder",
    "NewOrderCurrency",
    "Order",
    "OrderLine",
)
