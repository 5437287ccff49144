"""The event seam: apps publish and register through common.events, never through each
other's modules."""

import modulefinder
from pathlib import Path

import pytest

from common import events

ROOT = Path(__file__).resolve().parents[2]


def _imported_project_modules(path: Path) -> set[str]:
    finder = modulefinder.ModuleFinder(path=[str(ROOT)], excludes=["django", "rest_framework"])
    finder.run_script(str(path))
    return {name for name in finder.modules if name.split(".")[0] in APPS}


APPS = {"accounts", "posts", "follows", "notifications", "common", "config"}


@pytest.mark.parametrize("module", ["posts/services/__init__.py", "accounts/services.py"])
def test_services_do_not_import_the_fanout(module):
    imported = _imported_project_modules(ROOT / module)
    assert "common.events" in imported
    assert not {name for name in imported if name.startswith("notifications")}, imported


async def test_handle_refuses_unknown_and_malformed_events():
    with pytest.raises(events.InvalidEvent, match="unknown message type"):
        await events.handle({"type": "no.such.kind"})
    with pytest.raises(events.InvalidEvent, match="malformed"):
        await events.handle({"type": "post.created", "post_id": "x"})


def test_a_second_handler_for_a_kind_is_refused():
    async def another(post_id):
        return {}

    with pytest.raises(RuntimeError, match="registered already"):
        events.register("post.created", "post_id")(another)
