"""ASGI middleware that refuses oversized request bodies with 413 before they are read whole."""

import json

from order_api.errors import error_body


class BodyLimit:
    """Refuse bodies over a limit; paths under a prefix get their own, larger limit."""

    def __init__(self, app, limit: int, large_prefix: str = "", large_limit: int = 0) -> None:
        self.app, self.limit, self.large_prefix, self.large_limit = app, limit, large_prefix, large_limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        limit = self.large_limit if self.large_prefix and scope["path"].startswith(self.large_prefix) else self.limit
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                return await _refuse(send, 400, "bad_request", "Content-Length is not a number.")
            if too_big:
                return await _refuse(send, 413, "payload_too_large", f"The body is larger than {limit} bytes.")
        received = 0
        overflow = False
        replaced = False

        async def counting_receive():
            nonlocal received, overflow
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    overflow = True
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            # The framework turns a failing receive() into its own 400; answer 413 instead.
            nonlocal replaced
            if overflow:
                if not replaced and message["type"] == "http.response.start":
                    replaced = True
                    await _refuse(send, 413, "payload_too_large", f"The body is larger than {limit} bytes.")
                return
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _TooLarge:
            if not replaced:
                replaced = True
                await _refuse(send, 413, "payload_too_large", f"The body is larger than {limit} bytes.")


class _TooLarge(Exception):
    pass


async def _refuse(send, status: int, code: str, message: str) -> None:
    body = json.dumps(error_body(code, message)).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
