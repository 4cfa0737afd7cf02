"""Contains all the data models used in inputs/outputs"""

from .download_url import DownloadUrl
from .error import Error
from .new_todo import NewTodo
from .todo import Todo
from .todo_changes import TodoChanges
from .todo_page import TodoPage
from .upload_request import UploadRequest
from .upload_url import UploadUrl
from .upload_url_fields import UploadUrlFields

__all__ = (
    "DownloadUrl",
    "Error",
    "NewTodo",
    "Todo",
    "TodoChanges",
    "TodoPage",
    "UploadRequest",
    "UploadUrl",
    "UploadUrlFields",
)
