from tests.services.shop import (  # noqa: F401 (fixtures)
    catalog, moto, postgres_server, redis_secret_arn, redis_server, work_dir,
)
