"""Lambda function sources, one folder per function (`<name>/handler.py`), shipped as package data.

Each folder is zipped on its own as the function's code, so it is imported in Lambda as the
top-level package `<name>`; nothing here is imported by the components.
"""
