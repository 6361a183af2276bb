"""Toxiproxy 2.x's HTTP API over aiohttp: same paths, methods, codes and JSON.

Every error is ``{"error": "...", "status": N}`` with status N (400 bad input,
404 unknown proxy or toxic, 409 duplicate name, 500 cannot listen); anything
unexpected is logged and answered 500, and the server keeps serving.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from harness.toxiproxy import errors
from harness.toxiproxy.collection import ProxyCollection
from harness.toxiproxy.spec import (
    ProxyFields,
    parse_proxy,
    parse_proxy_update,
    parse_toxic,
    parse_toxic_update,
)

log = logging.getLogger(__name__)

#: The Toxiproxy release whose API this server follows.
VERSION = "2.12.0"

COLLECTION_KEY = web.AppKey("collection", ProxyCollection)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status)


def _error(exc: errors.ApiError) -> web.Response:
    return _json(exc.to_json(), status=exc.status)


@web.middleware
async def error_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.headers.get("User-Agent", "").startswith("Mozilla/"):
        # as Toxiproxy: a browser must not drive the API (cross-site requests)
        return web.Response(status=403, text="User agent not allowed")
    try:
        return await handler(request)
    except errors.ApiError as exc:
        log.info("%s %s -> %d %s", request.method, request.path, exc.status, exc.message)
        return _error(exc)
    except web.HTTPException:
        raise
    except Exception as exc:  # a bug must not take the server down
        log.exception("%s %s failed", request.method, request.path)
        return _error(errors.ApiError(f"internal error: {exc}", 500))


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise errors.BAD_REQUEST_BODY.with_detail(str(exc)) from exc


def _collection(request: web.Request) -> ProxyCollection:
    return request.app[COLLECTION_KEY]


async def proxy_index(request: web.Request) -> web.Response:
    proxies = _collection(request).proxies
    return _json({name: proxy.to_json() for name, proxy in proxies.items()})


async def proxy_create(request: web.Request) -> web.Response:
    fields = parse_proxy(await _body(request))
    coll = _collection(request)
    async with coll.lock:
        proxy = await coll.add(fields)
    return _json(proxy.to_json(), status=201)


async def populate(request: web.Request) -> web.Response:
    body = await _body(request)
    coll = _collection(request)
    async with coll.lock:
        proxies, failure = await coll.populate(body)
    data: dict[str, Any] = {"proxies": [p.to_json() for p in proxies]}
    if failure is not None:
        data.update(failure.to_json())
        return _json(data, status=failure.status)
    return _json(data, status=201)


async def proxy_show(request: web.Request) -> web.Response:
    return _json(_collection(request).get(request.match_info["proxy"]).to_json())


async def proxy_update(request: web.Request) -> web.Response:
    coll = _collection(request)
    proxy = coll.get(request.match_info["proxy"])
    current = ProxyFields(proxy.name, proxy.listen, proxy.upstream, proxy.enabled)
    fields = parse_proxy_update(await _body(request), current)
    async with coll.lock:
        await proxy.update(fields.listen, fields.upstream, fields.enabled)
    return _json(proxy.to_json())


async def proxy_delete(request: web.Request) -> web.Response:
    coll = _collection(request)
    async with coll.lock:
        coll.remove(request.match_info["proxy"])
    return web.Response(status=204)


async def toxic_index(request: web.Request) -> web.Response:
    return _json(_collection(request).get(request.match_info["proxy"]).toxics_json())


async def toxic_create(request: web.Request) -> web.Response:
    coll = _collection(request)
    proxy = coll.get(request.match_info["proxy"])
    body = await _body(request)
    async with coll.lock:
        spec = parse_toxic(body, lambda name: proxy.find_toxic(name) is not None)
        await proxy.add_toxic(spec)
    return _json(spec.to_json())


def _toxic(request: web.Request) -> tuple[Any, Any]:
    proxy = _collection(request).get(request.match_info["proxy"])
    spec = proxy.find_toxic(request.match_info["toxic"])
    if spec is None:
        raise errors.TOXIC_NOT_FOUND
    return proxy, spec


async def toxic_show(request: web.Request) -> web.Response:
    _, spec = _toxic(request)
    return _json(spec.to_json())


async def toxic_update(request: web.Request) -> web.Response:
    coll = _collection(request)
    _toxic(request)  # 404 before the body is looked at, as Toxiproxy
    body = await _body(request)
    async with coll.lock:
        proxy, spec = _toxic(request)
        attrs, toxicity = parse_toxic_update(body, spec)
        await proxy.update_toxic(spec, attrs, toxicity)
    return _json(spec.to_json())


async def toxic_delete(request: web.Request) -> web.Response:
    coll = _collection(request)
    async with coll.lock:
        proxy, spec = _toxic(request)
        await proxy.remove_toxic(spec)
    return web.Response(status=204)


async def reset(request: web.Request) -> web.Response:
    coll = _collection(request)
    async with coll.lock:
        await coll.reset()
    return web.Response(status=204)


async def version(request: web.Request) -> web.Response:
    return web.Response(
        text=json.dumps({"version": VERSION}) + "\n",
        content_type="application/json",
        charset="utf-8",
    )


async def metrics(request: web.Request) -> web.Response:
    lines: list[str] = []
    families = (
        ("received", "toxiproxy_proxy_received_bytes_total", "bytes received from a proxy link"),
        ("sent", "toxiproxy_proxy_sent_bytes_total", "bytes sent through a proxy link"),
    )
    for attr, metric, help_text in families:
        lines.append(f"# HELP {metric} The total {help_text}.")
        lines.append(f"# TYPE {metric} counter")
        for proxy in _collection(request).proxies.values():
            for direction, counters in proxy.counters.items():
                labels = (
                    f'direction="{direction}",listener="{_escape(proxy.listen)}",'
                    f'proxy="{_escape(proxy.name)}",upstream="{_escape(proxy.upstream)}"'
                )
                lines.append(f"{metric}{{{labels}}} {getattr(counters, attr)}")
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain", charset="utf-8")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def make_app(collection: ProxyCollection) -> web.Application:
    app = web.Application(middlewares=[error_middleware])
    app[COLLECTION_KEY] = collection
    r = app.router
    r.add_post("/reset", reset)
    r.add_get("/proxies", proxy_index)
    r.add_post("/proxies", proxy_create)
    r.add_post("/populate", populate)
    r.add_get("/proxies/{proxy}", proxy_show)
    r.add_post("/proxies/{proxy}", proxy_update)
    r.add_patch("/proxies/{proxy}", proxy_update)
    r.add_delete("/proxies/{proxy}", proxy_delete)
    r.add_get("/proxies/{proxy}/toxics", toxic_index)
    r.add_post("/proxies/{proxy}/toxics", toxic_create)
    r.add_get("/proxies/{proxy}/toxics/{toxic}", toxic_show)
    r.add_post("/proxies/{proxy}/toxics/{toxic}", toxic_update)
    r.add_patch("/proxies/{proxy}/toxics/{toxic}", toxic_update)
    r.add_delete("/proxies/{proxy}/toxics/{toxic}", toxic_delete)
    r.add_get("/version", version)
    r.add_get("/metrics", metrics)
    return app
