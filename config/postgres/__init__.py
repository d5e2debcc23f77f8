"""Django's PostgreSQL backend with a cheaper connection health check (``config.postgres.base``)."""
