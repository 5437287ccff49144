"""The API's gunicorn worker class (`worker_class` in config/gunicorn.py)."""

from concurrent import futures

from gunicorn.workers.gthread import ThreadWorker


class KeepAliveWorker(ThreadWorker):
    """gunicorn's `gthread` worker, which keeps client connections alive between requests,
    answering each request in its main thread when it has one thread (`threads = 1`, the
    default here): a keep-alive `sync` worker.

    With one thread, `gthread` hands each request from its main thread, which waits for
    readable connections, to its one pool thread, and the finished connection back: two
    thread switches a request that buy nothing, since only one request runs at a time
    either way. Here the main thread answers it itself, then goes back to waiting, and the
    connection's keep-alive bookkeeping is gunicorn's own (`finish_request`). The bare
    Django view's p50 at one connection went from 0.41 to 0.30 ms, the feed's from 1.53 to
    1.45 ms (docs/benchmarks.md, "The read path", eighth run).

    As in a `sync` worker, the main thread tells the arbiter it is alive between requests
    only, so a request running longer than `timeout` (GUNICORN_TIMEOUT, 30 s) has its
    worker replaced; `gthread`'s main thread went on reporting a hung request's worker
    alive. With more than one thread (WEB_THREADS) requests go to the pool as in `gthread`."""

    def enqueue_req(self, conn):
        if self.cfg.threads > 1:
            super().enqueue_req(conn)
            return
        conn.init()
        # What the pool would hand to `finish_request`: a future done with `handle`'s result
        # (it answers errors itself; anything else, as gunicorn's SystemExit on a quick
        # shutdown, goes on up).
        done = futures.Future()
        done.conn = conn
        done.set_result(self.handle(conn))
        self.finish_request(done)
