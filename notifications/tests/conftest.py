import pytest
from asgiref.sync import sync_to_async
from django.db import connections


@pytest.fixture
async def close_db_connections():
    """Connections opened by sync_to_async threads must be closed before the test database is
    flushed or dropped."""
    yield
    await sync_to_async(connections.close_all)()
