"""Errors the pattern client APIs raise, shared so callers catch one type."""


class RequestAbandoned(Exception):
    """A client gave up on a request after its configured retries or deadline.

    The request may or may not have executed (Jepsen's ``info``): the caller
    must not assume either.
    """
