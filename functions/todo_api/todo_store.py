"""The to-do table: one partition per user (`userId`), one item per to-do (`todoId`).

Every call is keyed by the caller's own partition, so another user's item is
indistinguishable from a missing one. The same code runs against DynamoDB or,
when a DAX endpoint is configured, against the DAX cluster (write-through: writes
go through DAX, reads are eventually consistent and served from its cache).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError


def connect_todo_db(dax_endpoint: str | None, region: str | None) -> Any:
    """A low-level DynamoDB-compatible client: the DAX client if an endpoint is given, else boto3's."""
    if dax_endpoint:
        # Imported here so functions without DAX never load it (it pulls in an ANTLR parser).
        from amazondax import AmazonDaxClient

        return AmazonDaxClient(endpoint_url=dax_endpoint, region_name=region)
    import boto3

    return boto3.client("dynamodb", region_name=region)


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def new_todo_id() -> str:
    return str(uuid.uuid4())


class TodoStore:
    def __init__(
        self,
        db: Any,
        table_name: str,
        clock: Callable[[], str] = utc_now,
        new_id: Callable[[], str] = new_todo_id,
    ) -> None:
        self._db = db
        self._table = table_name
        self._clock = clock
        self._new_id = new_id

    def create(self, user_id: str, todo: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        item = {**todo, "userId": user_id, "todoId": self._new_id(), "createdAt": now, "updatedAt": now}
        self._db.put_item(
            TableName=self._table,
            Item=_marshal(item),
            ConditionExpression="attribute_not_exists(todoId)",
        )
        return item

    def get(self, user_id: str, todo_id: str) -> dict[str, Any] | None:
        found = self._db.get_item(TableName=self._table, Key=_key(user_id, todo_id))
        return _unmarshal(found["Item"]) if found.get("Item") else None

    def list(self, user_id: str, limit: int, after_todo_id: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """One page of the caller's to-dos, and the todoId to resume after (None on the last page)."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "userId = :u",
            "ExpressionAttributeValues": {":u": {"S": user_id}},
            "Limit": limit,
        }
        if after_todo_id is not None:
            request["ExclusiveStartKey"] = _key(user_id, after_todo_id)
        page = self._db.query(**request)
        last = page.get("LastEvaluatedKey")
        return [_unmarshal(i) for i in page.get("Items", [])], (last["todoId"]["S"] if last else None)

    def update(self, user_id: str, todo_id: str, changes: Mapping[str, Any]) -> dict[str, Any] | None:
        """Apply `changes` (a None value removes that attribute); None if the caller has no such to-do."""
        names = {"#updatedAt": "updatedAt"}
        values: dict[str, Any] = {":updatedAt": {"S": self._clock()}}
        sets, removes = ["#updatedAt = :updatedAt"], []
        for field, value in changes.items():
            names[f"#{field}"] = field
            if value is None:
                removes.append(f"#{field}")
            else:
                values[f":{field}"] = _attribute(value)
                sets.append(f"#{field} = :{field}")
        expression = "SET " + ", ".join(sets) + (" REMOVE " + ", ".join(removes) if removes else "")
        try:
            updated = self._db.update_item(
                TableName=self._table,
                Key=_key(user_id, todo_id),
                UpdateExpression=expression,
                ConditionExpression="attribute_exists(todoId)",
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ReturnValues="ALL_NEW",
            )
        except ClientError as err:
            if _is_condition_failure(err):
                return None
            raise
        return _unmarshal(updated["Attributes"])

    def delete(self, user_id: str, todo_id: str) -> bool:
        """True if the caller's to-do was deleted, False if the caller has no such to-do."""
        try:
            self._db.delete_item(
                TableName=self._table,
                Key=_key(user_id, todo_id),
                ConditionExpression="attribute_exists(todoId)",
            )
        except ClientError as err:
            if _is_condition_failure(err):
                return False
            raise
        return True


def _is_condition_failure(err: ClientError) -> bool:
    # boto3 and the DAX client both raise ClientError subclasses carrying this code.
    return err.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def _key(user_id: str, todo_id: str) -> dict[str, Any]:
    return {"userId": {"S": user_id}, "todoId": {"S": todo_id}}


def _attribute(value: Any) -> dict[str, Any]:
    # The schema only holds strings and booleans (bool first: it is not a str, but be explicit).
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    raise TypeError(f"unsupported to-do attribute type {type(value).__name__}")


def _marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _attribute(value) for name, value in item.items()}


def _unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {}
    for name, attribute in item.items():
        if "S" in attribute:
            plain[name] = attribute["S"]
        elif "BOOL" in attribute:
            plain[name] = attribute["BOOL"]
    return plain
