"""Relays outbox stream records to a custom EventBridge bus."""
