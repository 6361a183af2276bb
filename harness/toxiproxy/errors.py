"""API errors with Toxiproxy's messages and status codes.

The HTTP layer turns an :class:`ApiError` into ``{"error": ..., "status": N}``
with that status, exactly as Toxiproxy 2.x does, so a client that branches on
status codes (toxiproxy-python raises ``ProxyExists`` on 409, ``NotFound`` on
404, ``InvalidToxic`` on 400) behaves the same against either server.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error the API reports to its caller."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def with_detail(self, detail: str) -> ApiError:
        return ApiError(f"{self.message}: {detail}", self.status)

    def to_json(self) -> dict[str, object]:
        return {"error": self.message, "status": self.status}


BAD_REQUEST_BODY = ApiError("bad request body", 400)
MISSING_FIELD = ApiError("missing required field", 400)
PROXY_NOT_FOUND = ApiError("proxy not found", 404)
PROXY_EXISTS = ApiError("proxy already exists", 409)
INVALID_STREAM = ApiError("stream was invalid, can be either upstream or downstream", 400)
INVALID_TOXIC_TYPE = ApiError("invalid toxic type", 400)
TOXIC_EXISTS = ApiError("toxic already exists", 409)
TOXIC_NOT_FOUND = ApiError("toxic not found", 404)
