"""POST /orders: records an order and its OrderCreated outbox event in one transaction."""
