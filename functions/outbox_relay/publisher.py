"""Publishes outbox events with as few PutEvents calls as the limits allow, retrying throttles."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from outbox_relay.envelope import MAX_ENTRIES_PER_CALL, MAX_REQUEST_BYTES, OutboxEvent

# Transient per-entry or per-call errors worth another attempt in this invocation. Anything else
# (e.g. AccessDeniedException, ValidationException, MalformedDetail) fails the same way again.
RETRYABLE_ERROR_CODES = frozenset(
    {"ThrottlingException", "InternalFailure", "InternalException", "ServiceUnavailable"}
)


@dataclass(frozen=True)
class FailedEvent:
    event: OutboxEvent
    error_code: str


def plan_calls(
    events: Iterable[OutboxEvent],
    *,
    max_entries: int = MAX_ENTRIES_PER_CALL,
    max_bytes: int = MAX_REQUEST_BYTES,
) -> list[list[OutboxEvent]]:
    """Split events, in stream order, into calls of <= max_entries entries and <= max_bytes."""
    calls: list[list[OutboxEvent]] = []
    current: list[OutboxEvent] = []
    current_bytes = 0
    for event in events:
        if current and (len(current) == max_entries or current_bytes + event.size > max_bytes):
            calls.append(current)
            current, current_bytes = [], 0
        current.append(event)
        current_bytes += event.size
    if current:
        calls.append(current)
    return calls


def _send(
    call: Sequence[OutboxEvent], put_events: Callable[..., dict[str, Any]]
) -> list[FailedEvent]:
    """One PutEvents call; returns the entries that did not get an EventId."""
    try:
        response = put_events(Entries=[event.entry for event in call])
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code") or "ClientError"
        return [FailedEvent(event, code) for event in call]
    except BotoCoreError:
        # Connection reset, read timeout...: the call may or may not have landed. Retrying may
        # duplicate, which consumers absorb; not retrying could lose the event.
        return [FailedEvent(event, "InternalFailure") for event in call]

    results = response.get("Entries") or []
    if len(results) != len(call):
        return [FailedEvent(event, "InternalFailure") for event in call]
    # FailedEntryCount is a summary; each entry's ErrorCode (or missing EventId) says which failed.
    if not response.get("FailedEntryCount") and all(r.get("EventId") for r in results):
        return []
    return [
        FailedEvent(event, result.get("ErrorCode") or "InternalFailure")
        for event, result in zip(call, results)
        if result.get("ErrorCode") or not result.get("EventId")
    ]


def publish(
    events: Sequence[OutboxEvent],
    put_events: Callable[..., dict[str, Any]],
    *,
    sleep: Callable[[float], None],
    may_wait: Callable[[float], bool] = lambda _seconds: True,
    max_attempts: int = 4,
    base_delay: float = 0.1,
    max_delay: float = 2.0,
    jitter: Callable[[], float] = random.random,
) -> list[FailedEvent]:
    """Publish every event; return those that still failed, in stream order.

    Retryable failures are re-sent (only those entries, re-packed) after a capped exponential
    backoff with jitter, at most ``max_attempts`` sends per event. Non-retryable failures are
    returned at once. ``may_wait(seconds)`` says whether the invocation can still afford that
    wait (0: another call); when it cannot, every event not yet accepted is returned as failed,
    so that Lambda re-delivers it rather than the whole batch timing out.
    """
    failed: list[FailedEvent] = []
    pending = list(events)
    attempt = 1
    while pending:
        retry: list[FailedEvent] = []
        for call in plan_calls(pending):
            if not may_wait(0):
                failed.extend(FailedEvent(event, "OutOfTime") for event in call)
                continue
            for failure in _send(call, put_events):
                (retry if failure.error_code in RETRYABLE_ERROR_CODES else failed).append(failure)
        if not retry:
            break
        delay = min(max_delay, base_delay * 2 ** (attempt - 1))
        delay = delay / 2 + jitter() * delay / 2
        if attempt >= max_attempts or not may_wait(delay):
            failed.extend(retry)
            break
        sleep(delay)
        attempt += 1
        pending = [failure.event for failure in retry]
    order = {event.sequence_number: index for index, event in enumerate(events)}
    return sorted(failed, key=lambda failure: order[failure.event.sequence_number])
