"""Every endpoint of the HTTP API, over raw HTTP: paths, codes, JSON fields, errors."""

from __future__ import annotations

import socket

import pytest
from tpx_support import recv_exactly


def test_version(api):
    resp = api.get("/version")
    assert resp.status_code == 200
    assert resp.json()["version"].startswith("2.")


def test_proxy_lifecycle(api, echo):
    resp = api.post("/proxies", json={"name": "a", "upstream": echo.address})
    assert resp.status_code == 201
    body = resp.json()
    assert set(body) == {"name", "listen", "upstream", "enabled", "toxics"}
    assert body["name"] == "a" and body["upstream"] == echo.address
    assert body["enabled"] is True and body["toxics"] == []
    host, port = body["listen"].rsplit(":", 1)
    assert host == "127.0.0.1" and int(port) > 0  # port 0 became a real port

    assert api.get("/proxies").json() == {"a": body}
    assert api.get("/proxies/a").json() == body

    resp = api.post("/proxies/a", json={"enabled": False})
    assert resp.status_code == 200 and resp.json()["enabled"] is False
    resp = api.request("PATCH", "/proxies/a", json={"enabled": True})
    assert resp.status_code == 200 and resp.json()["enabled"] is True
    assert resp.json()["listen"] == body["listen"]

    resp = api.delete("/proxies/a")
    assert resp.status_code == 204 and resp.content == b""
    assert api.get("/proxies").json() == {}
    with pytest.raises(OSError):
        socket.create_connection((host, int(port)), timeout=2).close()


def test_create_disabled_then_listen_change(api, echo, connect):
    resp = api.post("/proxies", json={"name": "b", "upstream": echo.address, "enabled": False})
    assert resp.status_code == 201 and resp.json()["enabled"] is False
    resp = api.post("/proxies/b", json={"enabled": True, "listen": "127.0.0.1:0"})
    assert resp.status_code == 200
    host, port = resp.json()["listen"].rsplit(":", 1)
    sock = connect((host, int(port)))
    sock.sendall(b"hi")
    assert recv_exactly(sock, 2) == b"hi"


def test_toxic_lifecycle(api, echo):
    api.create_proxy("t", echo.address)
    resp = api.post("/proxies/t/toxics", json={"type": "latency", "attributes": {"latency": 10}})
    assert resp.status_code == 200
    assert resp.json() == {
        "name": "latency_downstream",
        "type": "latency",
        "stream": "downstream",
        "toxicity": 1.0,
        "attributes": {"latency": 10, "jitter": 0},
    }
    resp = api.post(
        "/proxies/t/toxics",
        json={
            "name": "cut",
            "type": "timeout",
            "stream": "upstream",
            "toxicity": 0.5,
            "attributes": {"timeout": 0},
        },
    )
    assert resp.status_code == 200 and resp.json()["toxicity"] == 0.5
    names = [t["name"] for t in api.get("/proxies/t/toxics").json()]
    assert names == ["cut", "latency_downstream"]  # upstream chain listed first
    assert [t["name"] for t in api.get("/proxies/t").json()["toxics"]] == names
    assert api.get("/proxies/t/toxics/cut").json()["type"] == "timeout"

    resp = api.post(
        "/proxies/t/toxics/latency_downstream",
        json={"attributes": {"jitter": 3}, "toxicity": 0.25},
    )
    assert resp.status_code == 200
    assert resp.json()["attributes"] == {"latency": 10, "jitter": 3}  # merged
    assert resp.json()["toxicity"] == 0.25
    resp = api.request("PATCH", "/proxies/t/toxics/cut", json={"attributes": {"timeout": 5}})
    assert resp.status_code == 200 and resp.json()["attributes"] == {"timeout": 5}

    assert api.delete("/proxies/t/toxics/cut").status_code == 204
    assert [t["name"] for t in api.get("/proxies/t/toxics").json()] == ["latency_downstream"]


def test_every_toxic_type_is_known(api, echo):
    api.create_proxy("all", echo.address)
    expected = {
        "latency": {"latency": 0, "jitter": 0},
        "bandwidth": {"rate": 0},
        "slow_close": {"delay": 0},
        "timeout": {"timeout": 0},
        "reset_peer": {"timeout": 0},
        "slicer": {"average_size": 0, "size_variation": 0, "delay": 0},
        "limit_data": {"bytes": 0},
    }
    for type_, attrs in expected.items():
        resp = api.post("/proxies/all/toxics", json={"type": type_, "stream": "upstream"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["attributes"] == attrs
        assert resp.json()["name"] == f"{type_}_upstream"


def test_reset_enables_and_clears(api, echo):
    api.create_proxy("r", echo.address)
    api.add_toxic("r", "latency", latency=5)
    api.post("/proxies/r", json={"enabled": False})
    resp = api.post("/reset")
    assert resp.status_code == 204
    body = api.get("/proxies/r").json()
    assert body["enabled"] is True and body["toxics"] == []


def test_populate_creates_keeps_and_replaces(api, echo):
    resp = api.post(
        "/populate",
        json=[
            {"name": "p1", "upstream": echo.address},
            {"name": "p2", "upstream": echo.address, "listen": "127.0.0.1:0"},
        ],
    )
    assert resp.status_code == 201
    proxies = resp.json()["proxies"]
    assert [p["name"] for p in proxies] == ["p1", "p2"]
    p1 = proxies[0]
    # same listen and upstream: kept as is; other upstream: replaced
    resp = api.post(
        "/populate",
        json=[
            {"name": "p1", "listen": p1["listen"], "upstream": echo.address},
            {"name": "p2", "upstream": "127.0.0.1:1"},
        ],
    )
    assert resp.status_code == 201
    again = {p["name"]: p for p in resp.json()["proxies"]}
    assert again["p1"]["listen"] == p1["listen"]
    assert again["p2"]["upstream"] == "127.0.0.1:1"


def test_metrics_count_bytes(api, echo, connect):
    sock = connect(api.create_proxy("m", echo.address))
    sock.sendall(b"x" * 1234)
    recv_exactly(sock, 1234)
    resp = api.get("/metrics")
    assert resp.status_code == 200 and resp.headers["Content-Type"].startswith("text/plain")
    lines = [line for line in resp.text.splitlines() if 'proxy="m"' in line]
    values = {
        line.split("{")[0] + ":" + line.split('direction="')[1].split('"')[0]: line.split()[-1]
        for line in lines
    }
    assert values["toxiproxy_proxy_received_bytes_total:upstream"] == "1234"
    assert values["toxiproxy_proxy_sent_bytes_total:downstream"] == "1234"


# --------------------------------------------------------------------- bad input
def _assert_error(resp, status: int, fragment: str) -> None:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == status
    assert fragment in body["error"]


@pytest.mark.parametrize(
    ("path", "payload", "status", "fragment"),
    [
        ("/proxies", b"{not json", 400, "bad request body"),
        ("/proxies", b"[1, 2]", 400, "bad request body"),
        ("/proxies", b'{"upstream": "127.0.0.1:1"}', 400, "missing required field: name"),
        ("/proxies", b'{"name": "x"}', 400, "missing required field: upstream"),
        ("/proxies", b'{"name": 5, "upstream": "a:1"}', 400, "bad request body"),
        ("/proxies", b'{"name": "x", "upstream": "a:1", "enabled": "yes"}', 400, "bad request"),
        ("/populate", b'{"name": "x"}', 400, "bad request body"),
        ("/populate", b'[{"name": "x"}]', 400, "missing required field: upstream at proxy 1"),
        ("/proxies/nope/toxics", b'{"type": "latency"}', 404, "proxy not found"),
        ("/proxies/nope", b'{"enabled": true}', 404, "proxy not found"),
    ],
)
def test_bad_proxy_input(api, path, payload, status, fragment):
    _assert_error(api.post(path, data=payload), status, fragment)
    assert api.get("/version").status_code == 200  # still serving


@pytest.mark.parametrize(
    ("payload", "status", "fragment"),
    [
        (b"garbage", 400, "bad request body"),
        (b'{"type": "nosuch"}', 400, "invalid toxic type"),
        (b'{"stream": "sideways", "type": "latency"}', 400, "stream was invalid"),
        (b'{"type": "latency", "attributes": {"latency": "slow"}}', 400, "bad request body"),
        (b'{"type": "latency", "attributes": {"latency": 1.5}}', 400, "bad request body"),
        (b'{"type": "latency", "attributes": [1]}', 400, "bad request body"),
        (b'{"type": "latency", "toxicity": "high"}', 400, "bad request body"),
        (b'{"type": "latency", "name": "dup"}', 409, "toxic already exists"),
    ],
)
def test_bad_toxic_input(api, echo, payload, status, fragment):
    api.create_proxy("bad", echo.address)
    api.post("/proxies/bad/toxics", json={"type": "latency", "name": "dup"})
    _assert_error(api.post("/proxies/bad/toxics", data=payload), status, fragment)
    assert [t["name"] for t in api.get("/proxies/bad/toxics").json()] == ["dup"]


def test_not_found_and_conflict(api, echo):
    api.create_proxy("here", echo.address)
    _assert_error(api.post("/proxies", json={"name": "here", "upstream": "a:1"}), 409, "exists")
    _assert_error(api.get("/proxies/gone"), 404, "proxy not found")
    _assert_error(api.delete("/proxies/gone"), 404, "proxy not found")
    _assert_error(api.get("/proxies/here/toxics/gone"), 404, "toxic not found")
    _assert_error(api.post("/proxies/here/toxics/gone", json={}), 404, "toxic not found")
    _assert_error(api.delete("/proxies/here/toxics/gone"), 404, "toxic not found")
    _assert_error(api.post("/proxies/here/toxics/gone", data=b"{"), 404, "toxic not found")


def test_listen_failure_is_500_and_not_added(api, echo):
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = taken.getsockname()[1]
        resp = api.post(
            "/proxies",
            json={"name": "clash", "upstream": echo.address, "listen": f"127.0.0.1:{port}"},
        )
        _assert_error(resp, 500, "listen")
        assert "clash" not in api.get("/proxies").json()
    finally:
        taken.close()


def test_browser_user_agent_is_refused(api):
    assert api.get("/proxies", headers={"User-Agent": "Mozilla/5.0"}).status_code == 403


def test_bad_toxic_update_changes_nothing(api, echo):
    api.create_proxy("u", echo.address)
    api.add_toxic("u", "latency", latency=10)
    for body in (b"{", b'{"attributes": {"latency": "x"}}', b'{"toxicity": []}', b"[]"):
        _assert_error(api.post("/proxies/u/toxics/latency_downstream", data=body), 400, "bad")
    assert api.get("/proxies/u/toxics/latency_downstream").json()["attributes"]["latency"] == 10


def test_garbage_http_does_not_stop_the_server(server, api):
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    for junk in (b"\x00\xff" * 100 + b"\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST"):
        with socket.create_connection((host, int(port)), timeout=5) as sock:
            sock.sendall(junk)
            sock.shutdown(socket.SHUT_WR)
            sock.settimeout(5)
            try:
                while sock.recv(4096):
                    pass
            except OSError:
                pass
    assert api.get("/version").status_code == 200
