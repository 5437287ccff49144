"""gunicorn's settings as gunicorn itself reads them from `config/gunicorn.py`."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Run in a process of its own: the hook changes the garbage collector of the process.
READ_AS_GUNICORN = """
import gc, json, sys
from gunicorn.app.wsgiapp import WSGIApplication

sys.argv = ["gunicorn", "-c", "config/gunicorn.py", "config.wsgi"]
cfg = WSGIApplication().cfg
before = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
cfg.post_worker_init(None)
after = {"threshold": gc.get_threshold(), "frozen": gc.get_freeze_count()}
print(json.dumps({"worker_class": cfg.worker_class_str, "threads": cfg.threads,
                  "before": before, "after": after}))
"""


def test_workers_freeze_what_they_loaded_and_collect_less_often():
    done = subprocess.run(
        [sys.executable, "-c", READ_AS_GUNICORN],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    read = json.loads(done.stdout.splitlines()[-1])
    assert read["worker_class"] == "gthread"
    assert read["before"]["threshold"][0] == 700  # Python's default, until the hook runs
    assert read["before"]["frozen"] == 0
    # gunicorn knows the hook by its name and runs it: the youngest generation is larger,
    # the older ones as Python sets them, and what was loaded is out of the collector's way.
    assert read["after"]["threshold"] == [20_000, *read["before"]["threshold"][1:]]
    assert read["after"]["frozen"] > 1_000
