"""SecureQueue defaults and guards."""
import json

import pytest

from serverless_blueprints import monitoring
from serverless_blueprints.args import ArgsError
from serverless_blueprints.secure_queue import SecureQueue, SecureQueueArgs
from offline.harness import evaluate_program
from tests.conftest import statements_of


def test_queue_is_encrypted_tls_only_with_redrive_after_five_receives():
    stack = evaluate_program(lambda: SecureQueue("jobs", {"consumer_timeout_seconds": 30}))
    queue = stack.named("jobs").props
    assert queue["sqsManagedSseEnabled"] is True
    assert queue["visibilityTimeoutSeconds"] == 180
    redrive = json.loads(queue["redrivePolicy"])
    assert redrive == {"deadLetterTargetArn": stack.named("jobs-dlq").outputs["arn"], "maxReceiveCount": 5}
    deny = statements_of(stack.named("jobs-policy"))[0]
    assert deny["Effect"] == "Deny" and deny["Condition"]["Bool"]["aws:SecureTransport"] == "false"
    assert stack.named("jobs-dlq").props["sqsManagedSseEnabled"] is True


def test_the_dlq_is_what_its_depth_watch_watches():
    """The owning component creates the alarm (monitoring.watch): any message in the DLQ raises it."""
    def program():
        jobs = SecureQueue("jobs", {"consumer_timeout_seconds": 30})
        watch = jobs.depth_watch(monitoring.thresholds(monitoring.QUEUE))
        assert (watch.name, watch.metric, watch.threshold, watch.comparison) == (
            "jobs-dlq-not-empty", "ApproximateNumberOfMessagesVisible", 1, "GreaterThanOrEqualToThreshold")
        assert jobs.terminal is jobs.dead_letter_queue
    stack = evaluate_program(program)
    assert not stack.of_type("aws:cloudwatch/metricAlarm:MetricAlarm")  # a building block alarms through its owner


def test_terminal_queue_has_no_redrive_and_is_its_own_terminal_queue():
    def program():
        failures = SecureQueue("failures", {"dead_letter": False})
        assert failures.terminal is failures.queue
        assert failures.depth_watch(monitoring.thresholds(monitoring.QUEUE)).name == "failures-not-empty"
    stack = evaluate_program(program)
    assert "redrivePolicy" not in stack.named("failures").props


def test_visibility_timeout_under_six_times_the_consumer_is_rejected():
    with pytest.raises(ValueError, match="at least 6x the consumer timeout"):
        evaluate_program(lambda: SecureQueue("jobs", {"consumer_timeout_seconds": 30,
                                                      "visibility_timeout_seconds": 60}))


def test_max_receive_count_under_five_is_rejected():
    with pytest.raises(ArgsError, match=r"SecureQueue 'jobs': max_receive_count: 2 is out of range; allowed 5 to "
                                        r"1000 \(fewer receives dead-letter good messages"):
        evaluate_program(lambda: SecureQueue("jobs", {"max_receive_count": 2}))


def test_unknown_arg_is_rejected_with_the_allowed_ones():
    with pytest.raises(ArgsError, match=r"SecureQueue 'jobs': dead_letters: unknown arg \(did you mean "
                                        r"'dead_letter'\?\); allowed: consumer_timeout_seconds"):
        evaluate_program(lambda: SecureQueue("jobs", {"dead_letters": False}))


def test_args_can_be_built_with_the_typed_dict():
    stack = evaluate_program(lambda: SecureQueue("jobs", SecureQueueArgs(consumer_timeout_seconds=10)))
    assert stack.named("jobs").props["visibilityTimeoutSeconds"] == 60
