"""Reusable, secure-by-default Pulumi components for AWS serverless reference architectures."""
