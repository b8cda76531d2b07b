"""The service's ASGI application (``api.asgi``) served in this process, on a thread of its
own, by gunicorn's asyncio HTTP protocol: the browser tests share the application object and
its clock with the test, and still get the live streams ``ticketing serve`` has."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
from typing import Any

from gunicorn.config import Config
from gunicorn.glogging import Logger

from api.gunicorn_worker import ProblemProtocol


class _Worker:
    """What gunicorn's protocol asks of its worker."""

    def __init__(self, asgi: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.cfg = Config()
        self.log = Logger(self.cfg)
        self.asgi = asgi
        self.loop = loop
        self.alive = True
        self.max_requests = sys.maxsize
        self.nr = 0
        self.nr_conns = 0
        self.state: dict[str, Any] = {}


class InProcessServer:
    """Serves an ASGI application on 127.0.0.1 until :meth:`stop`."""

    def __init__(self, asgi: Any) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.loop = asyncio.new_event_loop()
        self.worker = _Worker(asgi, self.loop)
        self._started = threading.Event()
        self._thread = threading.Thread(target=self._run, name="asgi-server", daemon=True)
        self._thread.start()
        assert self._started.wait(10), "the in-process server did not start"

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        server = self.loop.run_until_complete(
            self.loop.create_server(lambda: ProblemProtocol(self.worker), sock=self.sock)
        )
        self._started.set()
        self.loop.run_forever()
        server.close()
        self.loop.run_until_complete(server.wait_closed())

    def stop(self) -> None:
        """Stop serving (open streams and the hub are cancelled) and wait for the thread."""
        self.worker.alive = False

        async def finish() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.loop.stop()

        asyncio.run_coroutine_threadsafe(finish(), self.loop)
        self._thread.join(10)
