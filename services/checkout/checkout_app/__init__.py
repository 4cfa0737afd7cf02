"""checkout: turns a cart into an order, once per Idempotency-Key, and keeps orders in PostgreSQL."""
