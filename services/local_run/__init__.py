"""Running the shop on one machine: real Redis (TLS + AUTH), real PostgreSQL, the catalog and checkout
processes and cart behind a local REST v1 gateway. Used by tests/services, the benchmark and
tests/services/services.sh; nothing here ships to AWS."""
