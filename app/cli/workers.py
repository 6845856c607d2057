"""``serve --workers N``: uvicorn's supervisor (a dead worker is replaced, SIGHUP replaces them all, SIGTERM stops
them once their requests are answered), with a listening socket of each worker's own on the one port
(``SO_REUSEPORT``). On uvicorn's one shared socket, whichever worker wakes first accepts every connection waiting,
so a client that opens 32 connections at once may get them all on one worker; over sockets of their own, the
kernel spreads connections by their addresses."""

import logging
import socket
import sys

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("uvicorn.error")


class PortShare(socket.socket):
    """A socket bound to the port with ``SO_REUSEPORT`` that never listens: the supervisor holds the port with it
    (a program binding it without that option is refused). Pickled into a worker it becomes the worker's own socket,
    bound alike, which the worker listens on."""

    def __init__(self, host: str, port: int) -> None:
        # IPPROTO_TCP named, as uvicorn does: asyncio sets TCP_NODELAY on connections only from such a socket
        super().__init__(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        self.bind((host, port))

    def __reduce__(self) -> tuple[type["PortShare"], tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return PortShare, (host, port)


def run_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` workers until SIGTERM or SIGINT; exit as uvicorn does when the port is taken."""
    try:
        _refuse_taken(config.host, config.port)
        share = PortShare(config.host, config.port)
    except OSError as exc:
        logger.error(exc)
        sys.exit(STARTUP_FAILURE)
    with share:
        host, port = share.getsockname()[:2]
        logger.info("Serving http://%s:%d with %d workers, a socket each", host, port, config.workers)
        Multiprocess(config, sockets=[share]).run()


def _refuse_taken(host: str, port: int) -> None:
    """Bind the port without ``SO_REUSEPORT`` and let it go: a server already listening on it with that option
    (another run of this one) would otherwise silently share our connections."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
