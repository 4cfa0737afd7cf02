"""Creates and activates CloudFront signing keys, once per key generation (invoked by Pulumi)."""
