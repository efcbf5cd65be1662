"""The embedded development stack: Postgres and Redis from wheels, and the ``make run`` supervisor."""

from devstack.services import (
    AlreadyRunningError,
    EmbeddedPostgres,
    EmbeddedRedis,
    PortInUseError,
    ServiceError,
    StartupError,
    free_port,
)

__all__ = [
    "AlreadyRunningError",
    "EmbeddedPostgres",
    "EmbeddedRedis",
    "PortInUseError",
    "ServiceError",
    "StartupError",
    "free_port",
]
