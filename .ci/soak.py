"""Outage soak: the chaos drill's database outage and worker SIGTERM, repeated under load.

The drill meets each fault once, so a race that needs an outage to begin at one moment of a
job shows up in one run in many. This repeats them: with posts arriving from POSTERS clients
(every user follows every other), each of CYCLES cycles stops PostgreSQL for 2-6 s, starts
it, waits 0-3 s and sends SIGTERM to a fan-out worker, then starts it again (timings drawn
from a seeded random generator). It fails unless no process logged a traceback or an ERROR
line (the drill's rule, printed with the tracebacks) and every post was fanned out to every
follower once. It takes about 12 s a cycle; CI does not run it.

    .venv/bin/python .ci/soak.py [--cycles 25] [--posters 12] [--seed 1]
Environment: DRILL_RABBITMQ (amqp://guest:guest@127.0.0.1:5672/).
"""

import argparse
import asyncio
import importlib.util
import random
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

_spec = importlib.util.spec_from_file_location("drill", Path(__file__).with_name("drill.py"))
drill = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(drill)
log = drill.log
USERS = 8


async def soak(cluster: drill.Cluster, log_dir: Path, options) -> dict:
    queue = f"soak-posts-{uuid.uuid4().hex[:8]}"
    exchange = f"warble-soak-{uuid.uuid4().hex[:8]}.groups"
    env = drill.environment(cluster, log_dir, queue, exchange)
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "manage.py", "migrate", "-v0"],
        cwd=drill.ROOT,
        env=env,
        check=True,
    )
    api_port = drill.free_port()
    processes = {"api": drill.api_process(env, api_port, log_dir)}
    for index in (1, 2):
        processes[f"worker-{index}"] = drill.worker_process(index, env, log_dir)
    random_draw = random.Random(options.seed)  # noqa: S311 (timings, not secrets)
    results: dict = {"cycles": 0, "exit_codes": {}}
    try:
        for process in processes.values():
            process.start()
        api = f"http://127.0.0.1:{api_port}"
        drill.wait_http(f"{api}/healthz", processes["api"])
        users = drill.sign_up(api, USERS)
        for a in range(USERS):
            for b in range(USERS):
                if a != b:
                    status, _, _ = drill.http(
                        "POST", f"{api}/api/users/{users[b]['username']}/follow/", users[a]["token"]
                    )
                    assert status == 201, status
        drive, stop = drill.Drive(api), asyncio.Event()
        posters = [
            asyncio.create_task(drill.poster(drive, users, stop)) for _ in range(options.posters)
        ]
        worker = processes["worker-1"]
        for cycle in range(options.cycles):
            await asyncio.sleep(random_draw.uniform(0.3, 3.0))
            await asyncio.to_thread(cluster.stop)
            await asyncio.sleep(random_draw.uniform(2.0, 6.0))
            await asyncio.to_thread(cluster.start)
            await asyncio.sleep(random_draw.uniform(0.0, 3.0))
            code = await asyncio.to_thread(worker.terminate)
            results["exit_codes"].setdefault("worker-1 (SIGTERM)", []).append(code)
            worker.start()
            results["cycles"] = cycle + 1
            log(f"cycle {cycle + 1}: worker-1 exited {code}")
        stop.set()
        await asyncio.gather(*posters)
        log("driving stopped; waiting for the fan-out to finish")
        rows = await asyncio.to_thread(drill.wait_fanned_out, cluster, drill.PATIENCE)
        results["posts"] = len(rows)
        results["posts_accepted"] = len(drive.accepted_posts)
        # Stored, though the client was not told so: a commit the server made as the
        # connection went away (the client can retry with its Idempotency-Key).
        results["posts_stored_not_answered_201"] = len(rows) - len(drive.accepted_posts)
        results["statuses"] = dict(
            sorted(Counter(str(request["status"]) for request in drive.requests).items())
        )
        results["not_fanned_out"] = [row for row in rows if not (row[1] == row[2] and row[3])]
    finally:
        for name, process in processes.items():
            if process.popen is not None:
                results["exit_codes"][name] = process.terminate()
        results["logs"] = drill.log_findings(processes)
        await drill.delete_broker_objects(queue, exchange)
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cycles", type=int, default=25)
    parser.add_argument("--posters", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    options = parser.parse_args()
    results, log_dir = drill.on_own_cluster(
        "soak", lambda cluster, log_dir: soak(cluster, log_dir, options)
    )
    failures = []
    if results.get("cycles") != options.cycles:
        failures.append("the soak did not finish")
    if results.get("not_fanned_out"):
        failures.append(f"posts not fanned out once to every follower: {results['not_fanned_out']}")
    return drill.conclude(results, failures, log_dir)


if __name__ == "__main__":
    sys.exit(main())
