"""Public blog API: published posts (cached) and newsletter subscriptions."""
