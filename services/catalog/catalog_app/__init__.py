"""catalog: products and their prices (FastAPI on ECS Fargate, DynamoDB table from CATALOG_TABLE)."""
