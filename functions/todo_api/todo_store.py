"""The to-do table: one partition per user (`userId`), one item per to-do (`todoId`).

Every call is keyed by the caller's own partition, so another user's item is
indistinguishable from a missing one. The same code runs against DynamoDB or,
when a DAX endpoint is configured, against the DAX cluster (write-through: writes
go through DAX, reads are eventually consistent and served from its cache).

A create with an Idempotency-Key also writes a marker item, in the same TransactWriteItems as
the to-do, in the partition `idempotency#<userId>`: a Cognito sub never contains '#', so no
caller's own partition (and so no list) ever holds a marker. The marker keeps the created to-do
for IDEMPOTENCY_TTL_SECONDS; `expiresAt` (epoch seconds) is the table's TTL attribute.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

from botocore.exceptions import ClientError

from api_common.http import IdempotencyKeyInProgress, IdempotencyKeyReused

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
IDEMPOTENCY_PARTITION_PREFIX = "idempotency#"
# Cancellation reasons that mean "the key is taken or being taken", not "our request was wrong".
_KEY_CONTENTION = {None, "None", "ConditionalCheckFailed", "TransactionConflict"}


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
        epoch_seconds: Callable[[], float] = time.time,
    ) -> None:
        self._db = db
        self._table = table_name
        self._clock = clock
        self._new_id = new_id
        self._epoch_seconds = epoch_seconds

    def create(self, user_id: str, todo: Mapping[str, Any]) -> dict[str, Any]:
        item = self._new_item(user_id, todo)
        self._db.put_item(
            TableName=self._table,
            Item=_marshal(item),
            ConditionExpression="attribute_not_exists(todoId)",
        )
        return item

    def create_once(
        self, user_id: str, todo: Mapping[str, Any], idempotency_key: str, request_hash: str
    ) -> tuple[dict[str, Any], bool]:
        """(the to-do, replayed?): created now, or the one this caller's key already created.

        The to-do and its key's marker are one TransactWriteItems, so there is never a to-do
        without its marker or the reverse. Same key and same `request_hash`: the first to-do,
        unchanged, and nothing written. Same key, other hash: IdempotencyKeyReused. A marker past
        `expiresAt` counts as gone even before DynamoDB's TTL sweep deletes it.
        """
        now = int(self._epoch_seconds())
        item = self._new_item(user_id, todo)
        marker = {
            "userId": idempotency_partition(user_id),
            "todoId": idempotency_key,
            "requestHash": request_hash,
            "todo": json.dumps(item, separators=(",", ":"), ensure_ascii=False),
            "createdAt": item["createdAt"],
            "expiresAt": now + IDEMPOTENCY_TTL_SECONDS,
        }
        try:
            self._db.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _marshal(item),
                            "ConditionExpression": "attribute_not_exists(todoId)",
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": _marshal(marker),
                            "ConditionExpression": "attribute_not_exists(todoId) OR expiresAt <= :now",
                            "ExpressionAttributeValues": {":now": {"N": str(now)}},
                        }
                    },
                ]
            )
        except ClientError as err:
            if _error_code(err) != "TransactionCanceledException":
                raise
            first = self._live_marker(user_id, idempotency_key, now)
            if first is not None:
                if first["requestHash"] != request_hash:
                    raise IdempotencyKeyReused() from None
                return json.loads(first["todo"]), True
            if not set(_cancellation_codes(err)) <= _KEY_CONTENTION:
                raise
            # Another request with this key was mid-transaction: it has committed or failed by now.
            raise IdempotencyKeyInProgress() from None
        return item, False

    def _new_item(self, user_id: str, todo: Mapping[str, Any]) -> dict[str, Any]:
        now = self._clock()
        return {**todo, "userId": user_id, "todoId": self._new_id(), "createdAt": now, "updatedAt": now}

    def _live_marker(self, user_id: str, idempotency_key: str, now: int) -> dict[str, Any] | None:
        # Strongly consistent: through DAX this is passed to the table, never served from the item cache.
        found = self._db.get_item(
            TableName=self._table,
            Key=_key(idempotency_partition(user_id), idempotency_key),
            ConsistentRead=True,
        )
        marker = _unmarshal(found["Item"]) if found.get("Item") else None
        if marker is None or marker.get("expiresAt", 0) <= now:
            return None
        return marker

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


def idempotency_partition(user_id: str) -> str:
    return IDEMPOTENCY_PARTITION_PREFIX + user_id


def _error_code(err: ClientError) -> str | None:
    # boto3 and the DAX client both raise ClientError subclasses carrying the DynamoDB error code.
    return err.response.get("Error", {}).get("Code")


def _is_condition_failure(err: ClientError) -> bool:
    return _error_code(err) == "ConditionalCheckFailedException"


def _cancellation_codes(err: ClientError) -> list[str | None]:
    # boto3 puts them in the response; the DAX client on the exception (and may have none).
    reasons = err.response.get("CancellationReasons") or getattr(err, "cancellation_reasons", None) or []
    return [reason.get("Code") if isinstance(reason, Mapping) else None for reason in reasons]


def _key(user_id: str, todo_id: str) -> dict[str, Any]:
    return {"userId": {"S": user_id}, "todoId": {"S": todo_id}}


def _attribute(value: Any) -> dict[str, Any]:
    # To-dos hold strings and booleans; markers add one integer, expiresAt (bool first: it is an int).
    if isinstance(value, bool):
        return {"BOOL": value}
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, int):
        return {"N": str(value)}
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
        elif "N" in attribute:
            plain[name] = int(attribute["N"])
    return plain
