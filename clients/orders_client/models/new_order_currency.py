from typing import Literal

NewOrderCurrency = Literal["EUR", "GBP", "USD"]

NEW_ORDER_CURRENCY_VALUES: set[NewOrderCurrency] = {
    "EUR",
    "GBP",
    "USD",
}


def check_new_order_currency(value: str) -> NewOrderCurrency:
    if value in NEW_ORDER_CURRENCY_VALUES:
        return value
    raise TypeError(
        f"Unexpected value {value!r}. Expected one of {NEW_ORDER_CURRENCY_VALUES!r}"
    )
