"""Consumes OrderCreated events from SQS and records one shipment per event."""
