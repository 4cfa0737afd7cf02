CREATE TABLE orders (
    order_id            uuid PRIMARY KEY,
    idempotency_key     text NOT NULL UNIQUE,
    request_fingerprint text NOT NULL,
    cart_id             text NOT NULL,
    currency            char(3) NOT NULL,
    total_cents         bigint NOT NULL CHECK (total_cents >= 0),
    status              text NOT NULL DEFAULT 'placed',
    created_at          timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_lines (
    order_id         uuid NOT NULL REFERENCES orders ON DELETE CASCADE,
    sku              text NOT NULL,
    name             text NOT NULL,
    quantity         integer NOT NULL CHECK (quantity > 0),
    unit_price_cents bigint NOT NULL CHECK (unit_price_cents >= 0),
    price_version    integer NOT NULL,
    PRIMARY KEY (order_id, sku)
);
