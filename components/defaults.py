"""Secure defaults shared by every component, in one place.

Components take overrides as args; anything not overridden comes from here, and
combinations that would weaken a guarantee raise an ArgsError naming the arg.
"""
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for the annotation: defaults stay importable without Pulumi
    from .args import ArgsReader

LAMBDA_RUNTIME = "python3.13"
LAMBDA_PYTHON_VERSION = "3.13"
LAMBDA_ARCHITECTURE = "arm64"
LAMBDA_ARCHITECTURES = ("arm64", "x86_64")

# Lambda's limits: memory (which also buys CPU) and timeout.
LAMBDA_MEMORY_MB_RANGE = (128, 10240)
LAMBDA_MAX_TIMEOUT_SECONDS = 900

# API Gateway's integration timeout is 29 s; a function behind it must finish first.
API_GATEWAY_INTEGRATION_TIMEOUT_SECONDS = 29

# Values CloudWatch Logs accepts for retention_in_days.
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731,
                      1096, 1827, 2192, 2557, 2922, 3288, 3653)

SQS_MAX_RECEIVE_COUNT = 5
# AWS guidance: a queue's visibility timeout is at least six times its consumer's timeout.
SQS_VISIBILITY_TIMEOUT_FACTOR = 6
SQS_DLQ_RETENTION_SECONDS = 14 * 24 * 3600

NONCURRENT_VERSION_EXPIRATION_DAYS = 30
ABORT_INCOMPLETE_MULTIPART_DAYS = 7

# Stream event source mappings: bounded retries and age, bisect, on-failure destination.
STREAM_MAXIMUM_RETRY_ATTEMPTS = 3
STREAM_MAXIMUM_RECORD_AGE_SECONDS = 3600
# The outbox relay retries throttled PutEvents inside each invocation, so one mapping retry is short:
# allow more of them before a batch is parked in the on-failure queue (which then needs a redrive).
OUTBOX_RELAY_MAXIMUM_RETRY_ATTEMPTS = 10

# CloudFront and S3 access logs: kept this long, then expired by the log bucket's lifecycle.
ACCESS_LOG_EXPIRATION_DAYS = 90
# DynamoDB keeps stream records 24 h: a longer maximum record age can never apply.
DYNAMODB_STREAM_RETENTION_SECONDS = 24 * 3600
# An on-failure record only points at stream positions; the outbox row must outlive it in its queue.
OUTBOX_MIN_TTL_DAYS = SQS_DLQ_RETENTION_SECONDS // 86400

# EventBridge target retry policy limits (AWS maxima; we always set both explicitly).
EVENTBRIDGE_MAX_RETRY_ATTEMPTS = 185
EVENTBRIDGE_MAX_EVENT_AGE_SECONDS = 24 * 3600

CLOUDFRONT_MINIMUM_PROTOCOL_VERSION = "TLSv1.2_2021"
CERTIFICATE_REGION = "us-east-1"  # CloudFront only accepts ACM certificates and WAF ACLs from here


def read_log_retention(r: "ArgsReader", key: str = "log_retention_days") -> int:
    """Days CloudWatch keeps a log group's events: one of the values CloudWatch offers."""
    return r.choice(key, LOG_RETENTION_DAYS)


def visibility_timeout_for(consumer_timeout_seconds: int) -> int:
    return SQS_VISIBILITY_TIMEOUT_FACTOR * consumer_timeout_seconds
