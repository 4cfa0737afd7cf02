"""signing_keys on moto: one key per generation, the private half only in the secret, activation that
switches the signer forward (never back) and records when."""

from __future__ import annotations

import json

import boto3
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding
from moto import mock_aws

from signing_keys import handler as keys_handler
from signing_keys import keys
from tests.functions.paid_content_events import REGION


@pytest.fixture
def clients(monkeypatch):
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": REGION, "AWS_REGION": REGION}.items():
        monkeypatch.setenv(name, value)
    keys_handler.client.cache_clear()
    with mock_aws():
        secrets = boto3.client("secretsmanager")
        arn = secrets.create_secret(Name="media-signing-key")["ARN"]
        yield {"cloudfront": boto3.client("cloudfront"), "secrets": secrets, "arn": arn}
    keys_handler.client.cache_clear()


def invoke(clients, step, generation, action="create", sleeps=None):
    event = {"step": step, "generation": generation, "secretId": clients["arn"], "keyName": f"media-g{generation}",
             "tf": {"action": action}}
    return keys_handler.handler(event, None, sleep=(sleeps.append if sleeps is not None else lambda _s: None))


def current(clients) -> dict:
    return json.loads(clients["secrets"].get_secret_value(SecretId=clients["arn"], VersionStage="AWSCURRENT")["SecretString"])


def test_create_returns_public_data_only_and_the_secret_holds_the_pair(clients):
    result = invoke(clients, "create_key", 1)
    assert set(result) == {"keyId", "generation", "versionId"}
    assert "PRIVATE" not in json.dumps(result)
    value = current(clients)  # the first version of a secret is current by itself
    assert value["keyId"] == result["keyId"] and value["generation"] == 1
    # The secret's private key is the pair of the public key CloudFront holds.
    encoded = clients["cloudfront"].get_public_key(Id=result["keyId"])["PublicKey"]["PublicKeyConfig"]["EncodedKey"]
    public = serialization.load_pem_public_key(encoded.encode())
    private = serialization.load_pem_private_key(value["privateKey"].encode(), password=None)
    signature = private.sign(b"policy", padding.PKCS1v15(), hashes.SHA1())
    public.verify(signature, b"policy", padding.PKCS1v15(), hashes.SHA1())


def test_a_retried_create_makes_no_second_key(clients):
    first = invoke(clients, "create_key", 1)
    again = invoke(clients, "create_key", 1)
    assert again["keyId"] == first["keyId"]
    assert clients["cloudfront"].list_public_keys()["PublicKeyList"]["Quantity"] == 1


def test_a_new_generation_does_not_switch_the_signer_until_activated(clients):
    one = invoke(clients, "create_key", 1)
    invoke(clients, "activate", 1)
    two = invoke(clients, "create_key", 2)
    assert current(clients)["keyId"] == one["keyId"]
    sleeps: list = []
    activated = invoke(clients, "activate", 2, sleeps=sleeps)
    assert current(clients)["keyId"] == two["keyId"]
    assert sleeps == [keys_handler.PROPAGATION_SECONDS]  # waited for the edges before switching
    assert activated["activated"] is True and activated["activatedAt"] > 0
    stages = clients["secrets"].describe_secret(SecretId=clients["arn"])["VersionIdsToStages"]
    labelled = stages[two["versionId"]]
    assert "generation-2" in labelled and f"activated-at-{activated['activatedAt']}" in labelled


def test_activation_never_moves_the_signer_back(clients):
    invoke(clients, "create_key", 1)
    invoke(clients, "activate", 1)
    two = invoke(clients, "create_key", 2)
    invoke(clients, "activate", 2)
    answer = invoke(clients, "activate", 1, action="update")
    assert answer["activated"] is False and current(clients)["keyId"] == two["keyId"]


def test_activating_twice_keeps_the_first_activation_time(clients):
    invoke(clients, "create_key", 1)
    first = invoke(clients, "activate", 1)
    again = invoke(clients, "activate", 1, action="update")
    assert again["activatedAt"] == first["activatedAt"]


def test_deleting_a_generation_deletes_its_public_key(clients):
    one = invoke(clients, "create_key", 1)
    invoke(clients, "create_key", 2)
    assert invoke(clients, "create_key", 1, action="delete") == {"deleted": one["keyId"]}
    names = [k["Name"] for k in clients["cloudfront"].list_public_keys()["PublicKeyList"].get("Items", [])]
    assert names == ["media-g2"]
    assert invoke(clients, "create_key", 1, action="delete") == {"deleted": None}  # idempotent


def test_no_log_line_carries_the_private_key(clients, caplog):
    caplog.set_level("INFO")  # the function logs at INFO; botocore DEBUG would log request bodies
    invoke(clients, "create_key", 1)
    invoke(clients, "activate", 1)
    assert "PRIVATE KEY" not in caplog.text
