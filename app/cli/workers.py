"""``serve --workers N``: uvicorn's supervisor (a dead worker is replaced, SIGHUP replaces them all, SIGTERM stops
them once their requests are answered) on uvicorn's one shared socket, or with ``--socket-per-worker`` a listening
socket of each worker's own on the one port (``SO_REUSEPORT``). On the shared socket, whichever worker wakes first
accepts every connection waiting, so a client that opens 32 connections at once may get them all on one worker;
over sockets of their own, the kernel spreads connections by their addresses. But a worker that stops (SIGHUP,
a crash) then takes the connections waiting in its own queue with it (reset), unless the kernel hands them to the
other sockets (``net.ipv4.tcp_migrate_req = 1``, Linux 5.14 and later)."""

import logging
import socket
import sys
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

logger = logging.getLogger("uvicorn.error")


class PortShare(socket.socket):
    """A socket bound to the port with ``SO_REUSEPORT`` that never listens: the supervisor holds the port with it
    against programs binding without ``SO_REUSEADDR`` (with it, as uvicorn binds, a restart does not wait out the
    last run's TIME_WAIT connections; and a program binding so can take the port only while no worker listens).
    Pickled into a worker it becomes the worker's own socket, bound alike (``_own_socket``)."""

    def __init__(self, host: str, port: int) -> None:
        super().__init__(*_tcp(host))
        _share(self)
        self.bind((host, port))

    def __reduce__(self) -> tuple[Callable[[str, int], socket.socket], tuple[str, int]]:
        host, port = self.getsockname()[:2]
        return _own_socket, (host, port)


def _own_socket(host: str, port: int) -> socket.socket:
    """A worker's listening socket (listened on by uvicorn), made as the worker starts; a worker that cannot bind
    it exits with uvicorn's startup-failure status, on which the supervisor stops instead of starting another."""
    own = _share(socket.socket(*_tcp(host)))
    try:
        own.bind((host, port))
    except OSError as exc:
        own.close()
        logger.error("A worker could not bind %s:%d: %s", host, port, exc)
        sys.exit(STARTUP_FAILURE)
    return own


def _share(sock: socket.socket) -> socket.socket:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    return sock


def _tcp(host: str) -> tuple[socket.AddressFamily, socket.SocketKind, int]:
    """IPPROTO_TCP named, as uvicorn does: asyncio sets TCP_NODELAY on connections only from such a socket."""
    return socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP


def run_workers(config: uvicorn.Config, socket_per_worker: bool) -> None:
    """Run ``config.workers`` workers until SIGTERM or SIGINT. Exit with uvicorn's startup-failure status when the
    port is taken, or when a worker could not start (the supervisor then stops them all)."""
    with ExitStack() as held:
        try:
            listener = _port_share(config, held) if socket_per_worker else config.bind_socket()
        except OSError as exc:
            logger.error(exc)
            sys.exit(STARTUP_FAILURE)
        held.enter_context(listener)
        supervisor = Multiprocess(config, sockets=[listener])
        supervisor.run()
    if any(worker.exitcode == STARTUP_FAILURE for worker in supervisor.processes):
        sys.exit(STARTUP_FAILURE)


def _port_share(config: uvicorn.Config, held: ExitStack) -> PortShare:
    """A lock on the port among runs of this service, ``held`` (another run starting beside this one would join
    its sockets), then the port free of listeners, then the supervisor's ``PortShare``."""
    lock = held.enter_context(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM))
    lock.bind(f"\0ispyb-hybrid serve --socket-per-worker: port {config.port}")  # Linux's abstract namespace
    _refuse_taken(config.host, config.port)
    share = PortShare(config.host, config.port)
    host, port = share.getsockname()[:2]
    address = f"[{host}]" if ":" in host else host
    logger.info("Serving http://%s:%d with %d workers, a socket each", address, port, config.workers)
    migrate = Path("/proc/sys/net/ipv4/tcp_migrate_req")
    if not migrate.exists() or migrate.read_text().strip() == "0":
        logger.warning("net.ipv4.tcp_migrate_req is 0: a worker that stops resets the connections in its queue")
    return share


def _refuse_taken(host: str, port: int) -> None:
    """Bind the port without ``SO_REUSEPORT`` and let it go: a server already listening on it with that option
    (another run of this one) would otherwise silently share our connections."""
    with socket.socket(*_tcp(host)) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
