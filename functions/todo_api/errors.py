"""The one exception the domain modules raise to refuse a request."""


class ApiError(Exception):
    """A refused request: the HTTP status and the reason returned as {"message": reason}."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
