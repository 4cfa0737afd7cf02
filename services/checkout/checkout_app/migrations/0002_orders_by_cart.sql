CREATE INDEX orders_by_cart ON orders (cart_id, created_at);
