"""`python -m uvicorn` with TCP_NODELAY on the socket the supervisor binds for --workers N (bench only).

uvicorn's Config.bind_socket() makes the listening socket with proto 0, and asyncio sets TCP_NODELAY on
accepted sockets only when proto is IPPROTO_TCP (Kludex/uvicorn#3149): with --workers N every keep-alive
request after the first then waits for the client's delayed ACK (~40 ms on Linux). On Linux accepted
sockets inherit TCP_NODELAY from the listener, so setting it there is enough. Same arguments as uvicorn.
"""

import socket
import sys

import uvicorn.config
import uvicorn.main

_bind_socket = uvicorn.config.Config.bind_socket


def bind_socket(self: uvicorn.config.Config) -> socket.socket:
    sock = _bind_socket(self)
    if sock.family in (socket.AF_INET, socket.AF_INET6):
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


uvicorn.config.Config.bind_socket = bind_socket  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.exit(uvicorn.main.main())
