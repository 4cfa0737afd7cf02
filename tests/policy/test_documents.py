import json

import pytest

from policy import UNKNOWN
from policy.documents import could_match_prefix, grants, has_tls_only_deny, statements, wildcard_match


def test_statement_and_fields_may_be_single_values_or_lists():
    single = statements(json.dumps({"Statement": {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}}))
    listed = statements({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]})
    assert single == listed and single[0].actions == ("s3:GetObject",)


def test_unknown_or_unparseable_documents_are_unknown():
    assert statements(UNKNOWN) is None
    assert statements('{"Statement": [') is None
    assert statements(None) == []


@pytest.mark.parametrize("pattern, action, expected", [
    ("s3:PutObject", "s3:putobject", True), ("s3:Put*", "s3:PutObject", True), ("s3:Get*", "s3:PutObject", False),
    ("*", "s3:PutObject", True), ("s3:PutObjec?", "s3:PutObject", True), ("s3:[P]utObject", "s3:PutObject", False),
])
def test_iam_wildcards(pattern, action, expected):
    assert wildcard_match(pattern, action) is expected


def test_not_action_grants_everything_it_does_not_exclude():
    [statement] = statements({"Statement": {"Effect": "Allow", "NotAction": "s3:Delete*", "Resource": "*"}})
    assert grants(statement, "s3:PutObject") is True and grants(statement, "s3:DeleteObject") is False


@pytest.mark.parametrize("pattern, prefix, expected", [
    ("arn:aws:s3:::b/*", "arn:aws:s3:::b/in/", True),
    ("arn:aws:s3:::b/out/*", "arn:aws:s3:::b/in/", False),
    ("arn:aws:s3:::b/in/x.jpg", "arn:aws:s3:::b/in/", True),
    ("arn:aws:s3:::b/i*", "arn:aws:s3:::b/in/", True),
    ("arn:aws:s3:::other/*", "arn:aws:s3:::b/", False),
    ("arn:aws:s3:::b", "arn:aws:s3:::b/", False),
])
def test_resource_pattern_reaching_a_key_prefix(pattern, prefix, expected):
    assert could_match_prefix(pattern, prefix) is expected


def test_tls_only_deny_accepts_string_or_boolean_false():
    for value in ("false", False, ["false"]):
        doc = {"Statement": [{"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "s3:*", "Resource": "*",
                              "Condition": {"Bool": {"aws:SecureTransport": value}}}]}
        assert has_tls_only_deny(doc) is True
    assert has_tls_only_deny(UNKNOWN) is None
