"""What every REST API function shares: reading a request body, and turning errors into JSON responses.

Bundled into each API function's zip next to the function's own package (todo_api, blog_api,
order_service) and imported as top-level `api_common`.
"""
