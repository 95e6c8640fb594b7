"""uvicorn's httptools protocol with a limit on the request header block.

The parser itself buffers a request line and headers of any size. Here the bytes of each
header block are counted as they arrive; one larger than the limit (uvicorn's
`h11_max_incomplete_event_size`, set from `MAX_HEADER_BYTES`) is answered `431` before it
is parsed any further, and the connection is closed once the client has had time to read
the answer.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from typing import Any

from uvicorn.config import Config
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from settings import Settings
from web.logs import request_id_var
from web.problems import problem_response
from web.security_headers import secured

log = logging.getLogger("orderly.access")
# After the refusal, what the client is still sending is read and dropped for this long, so
# that closing with unread data (a TCP reset) does not destroy the answer before it is read.
LINGER_SECONDS = 2.0


class HeaderLimitedProtocol(HttpToolsProtocol):
    def __init__(
        self,
        config: Config,
        server_state: ServerState,
        app_state: dict[str, Any],
        _loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        super().__init__(config, server_state, app_state, _loop)
        limit = config.h11_max_incomplete_event_size
        self.max_header_bytes = limit if limit is not None else Settings().max_header_bytes
        self.header_bytes: int | None = 0  # of the header block being read; None in a body
        self.refused = False

    def data_received(self, data: bytes) -> None:
        while data and not self.refused:
            if self.header_bytes is None:
                super().data_received(data)
                return
            room = self.max_header_bytes - self.header_bytes
            if room <= 0:
                self._refuse()
                return
            head, data = data[:room], data[room:]
            self.header_bytes += len(head)
            super().data_received(head)
            if self.transport.is_closing():
                return

    def on_headers_complete(self) -> None:
        self.header_bytes = None
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self.header_bytes = 0
        super().on_message_complete()

    def _refuse(self) -> None:
        self.refused = True
        request_id = uuid.uuid4().hex
        token = request_id_var.set(request_id)
        try:
            log.info("request header block over %d bytes refused: 431", self.max_header_bytes)
        finally:
            request_id_var.reset(token)
        response = problem_response(
            431,
            "REQUEST_HEADER_FIELDS_TOO_LARGE",
            f"The request headers are larger than {self.max_header_bytes} bytes.",
            headers={"Connection": "close", "X-Request-ID": request_id},
        )
        headers = b"".join(
            name + b": " + value + b"\r\n"
            for name, value in secured(response.raw_headers, private=False)
        )
        status = b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
        self.transport.write(status + headers + b"\r\n" + response.body)
        if self.transport.can_write_eof():
            self.transport.write_eof()
            asyncio.get_running_loop().call_later(LINGER_SECONDS, self.transport.close)
        else:
            self.transport.close()
