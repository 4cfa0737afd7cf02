"""One signing-key generation: an RSA key pair, its CloudFront public key, and a secret version.

The private key exists only here and in Secrets Manager: it is generated in this function, written
as one secret value {"keyId", "privateKey", "generation"} (the id travels with its key), and never
returned. What this module returns (and Pulumi keeps in state) is public: the key's id, its
generation and the secret version id.

Secret versions carry staging labels that record the history Pulumi's preview reads back:
    generation-<N>          the version holding generation N's key
    activated-at-<epoch>    when it became AWSCURRENT (what the signer reads)
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any, Callable, Optional

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_SIZE = 2048  # CloudFront accepts 2048-bit RSA public keys
CURRENT = "AWSCURRENT"


def generation_label(generation: int) -> str:
    return f"generation-{generation}"


def activated_label(epoch: int) -> str:
    return f"activated-at-{epoch}"


def version_token(secret_id: str, generation: int) -> str:
    """The secret version id of a generation: the same on every retry, so a retry never makes a second key."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{secret_id}#generation-{generation}"))


def new_key_pair() -> tuple[str, str]:
    """(private key PEM, public key PEM) of a fresh 2048-bit RSA key."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_SIZE)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode("ascii")
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")
    return private, public


def stages_by_version(secrets: Any, secret_id: str) -> dict[str, list[str]]:
    return secrets.describe_secret(SecretId=secret_id).get("VersionIdsToStages", {})


def generation_of(stages: list[str]) -> Optional[int]:
    for stage in stages:
        if stage.startswith("generation-") and stage[len("generation-"):].isdigit():
            return int(stage[len("generation-"):])
    return None


def find_public_key(cloudfront: Any, name: str) -> Optional[str]:
    marker = None
    while True:
        page = cloudfront.list_public_keys(**({"Marker": marker} if marker else {}))["PublicKeyList"]
        for item in page.get("Items", []):
            if item["Name"] == name:
                return item["Id"]
        marker = page.get("NextMarker")
        if not marker:
            return None


def create_key(cloudfront: Any, secrets: Any, *, secret_id: str, generation: int, key_name: str,
               comment: str, key_pair: Callable[[], tuple[str, str]] = new_key_pair) -> dict:
    """Generation N's key: created once; a retry finds the one already made."""
    token = version_token(secret_id, generation)
    existing = find_public_key(cloudfront, key_name)
    if existing is not None and token in stages_by_version(secrets, secret_id):
        return {"keyId": existing, "generation": generation, "versionId": token}
    if existing is not None:
        # A public key whose private half never reached the secret is useless: replace it.
        delete_public_key(cloudfront, existing)
    private_pem, public_pem = key_pair()
    created = cloudfront.create_public_key(PublicKeyConfig={
        "CallerReference": f"{token}-{int(time.time())}", "Name": key_name, "EncodedKey": public_pem,
        "Comment": comment})
    key_id = created["PublicKey"]["Id"]
    try:
        # Labelled, not AWSCURRENT: the signer switches only at activation, once the key group trusts the key.
        # (A secret's very first version becomes AWSCURRENT regardless; nothing is signed before the first up.)
        secrets.put_secret_value(
            SecretId=secret_id, ClientRequestToken=token, VersionStages=[generation_label(generation)],
            SecretString=json.dumps({"keyId": key_id, "privateKey": private_pem, "generation": generation}))
    except Exception:
        delete_public_key(cloudfront, key_id)
        raise
    return {"keyId": key_id, "generation": generation, "versionId": token}


def activate(secrets: Any, *, secret_id: str, generation: int, now: Callable[[], float] = time.time,
             wait: Callable[[], None] = lambda: None) -> dict:
    """Make generation N's version AWSCURRENT and record when; never moves back to an older generation.

    `wait` runs first when the signer really switches (edges need minutes to trust a new key)."""
    token = version_token(secret_id, generation)
    versions = stages_by_version(secrets, secret_id)
    if token not in versions:
        raise RuntimeError(f"generation {generation} has no key in the secret yet")
    current = next((v for v, stages in versions.items() if CURRENT in stages), None)
    current_generation = None if current is None else generation_of(versions[current])
    if current_generation is not None and current_generation > generation:
        return {"generation": generation, "activated": False, "currentGeneration": current_generation}
    if current != token:
        wait()
        secrets.update_secret_version_stage(SecretId=secret_id, VersionStage=CURRENT, MoveToVersionId=token,
                                            **({"RemoveFromVersionId": current} if current else {}))
    stamp = next((s for s in versions[token] if s.startswith("activated-at-")), None)
    if stamp is None:
        stamp = activated_label(int(now()))
        secrets.update_secret_version_stage(SecretId=secret_id, VersionStage=stamp, MoveToVersionId=token)
    return {"generation": generation, "activated": True, "activatedAt": int(stamp[len("activated-at-"):])}


def delete_public_key(cloudfront: Any, key_id: str) -> None:
    try:
        etag = cloudfront.get_public_key(Id=key_id)["ETag"]
    except cloudfront.exceptions.NoSuchPublicKey:
        return
    cloudfront.delete_public_key(Id=key_id, IfMatch=etag)


def retire_key(cloudfront: Any, *, key_name: str) -> dict:
    """Delete generation N's CloudFront public key (Pulumi removed it from the key group first)."""
    key_id = find_public_key(cloudfront, key_name)
    if key_id is not None:
        delete_public_key(cloudfront, key_id)
    return {"deleted": key_id}
