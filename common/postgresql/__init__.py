"""Django's PostgreSQL backend with a connection pool that recovers at once from a server
restart or failover (`base.RecoveringPool`); `ENGINE = "common.postgresql"`."""
