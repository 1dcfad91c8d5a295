"""TCP and WebSocket transports that survive a client going away.

pygls' ``start_tcp``/``start_ws`` shut the whole server down when the first connection closes, and
a second client then hangs forever on an accepted-but-unserved socket (a port probe is enough to
cause it). Here each connection gets a fresh server session; a dropped connection frees the port
for the next client. An ``exit`` notification still ends the process, as LSP specifies.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from pygls.io_ import run_async, run_websocket

from fireside.lsp.server import FiresideServer

logger = logging.getLogger(__name__)

ServerFactory = Callable[[], FiresideServer]


def serve_tcp(make_server: ServerFactory, host: str, port: int) -> None:
    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        logger.info("client connected: %s", peer)
        server = make_server()
        server.protocol.set_writer(writer)  # type: ignore[arg-type]
        try:
            await run_async(
                stop_event=threading.Event(),
                reader=reader,
                protocol=server.protocol,
                logger=logger,
                error_handler=server.report_server_error,
            )
        finally:
            server.completions.shutdown()
            writer.close()
            logger.info("client disconnected: %s", peer)

    async def main() -> None:
        listener = await asyncio.start_server(on_connection, host, port)
        logger.info("listening for LSP clients on tcp://%s:%s", host, port)
        async with listener:
            await listener.serve_forever()

    asyncio.run(main())


def serve_websocket(make_server: ServerFactory, host: str, port: int) -> None:
    from websockets.asyncio.server import ServerConnection, serve

    async def on_connection(websocket: ServerConnection) -> None:
        logger.info("client connected: %s", websocket.remote_address)
        server = make_server()
        try:
            await run_websocket(
                websocket=websocket,
                stop_event=threading.Event(),
                protocol=server.protocol,
                logger=logger,
                error_handler=server.report_server_error,
            )
        finally:
            server.completions.shutdown()
            logger.info("client disconnected: %s", websocket.remote_address)

    async def main() -> None:
        async with serve(on_connection, host, port) as listener:
            logger.info("listening for LSP clients on ws://%s:%s", host, port)
            await listener.serve_forever()

    asyncio.run(main())
