"""Pipeline: the task frames, the worker and sink classes, and the role CLIs as processes."""

from __future__ import annotations

import signal

import pytest
import zmq

from patterns.pipeline import tasks
from patterns.pipeline.sink import Sink
from patterns.pipeline.tasks import TaskId
from patterns.pipeline.worker import Worker
from tests.patterns.procs import (
    Procs,
    free_endpoint,
    help_text,
    read_events,
    stop,
    wait_for,
    wait_until,
)

# -- the wire format ----------------------------------------------------------------


def test_task_and_result_round_trip() -> None:
    task = TaskId("vent", 2, 17)
    assert str(task) == "vent:2:17"
    assert tasks.encode_task(task, 40) == b"40 vent 2 17"
    assert tasks.decode_task(b"40 vent 2 17") == (task, 40)
    assert tasks.encode_result(task, "w-1") == b"vent 2 17 w-1"
    assert tasks.decode_result(b"vent 2 17 w-1") == (task, "w-1")


def test_the_guides_frames() -> None:
    assert tasks.decode_task(b"37") == (None, 37)  # taskvent's bare workload
    assert tasks.decode_result(b"") is None  # taskwork's empty result
    assert tasks.decode_result(b"37") is None  # taskwork2's echoed workload


@pytest.mark.parametrize("frame", [b"", b"x", b"-1", b"5 vent x 1", b"5 vent 1", b"\xff\xfe"])
def test_garbage_tasks_do_not_decode(frame: bytes) -> None:
    assert tasks.decode_task(frame) is None


# -- classes in one process -----------------------------------------------------------


@pytest.fixture
def ctx():
    context = zmq.Context()
    yield context
    context.destroy(linger=0)


def test_worker_works_ours_and_the_guides_and_drops_garbage(ctx, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("ZCHAOS_TRACE", str(tmp_path / "t.jsonl"))
    vent_ep, sink_ep, control_ep = free_endpoint(), free_endpoint(), free_endpoint()
    vent = ctx.socket(zmq.PUSH)
    sink = ctx.socket(zmq.PULL)
    control = ctx.socket(zmq.PUB)
    for sock, ep in ((vent, vent_ep), (sink, sink_ep), (control, control_ep)):
        sock.linger = 0
        sock.bind(ep)
    worker = Worker(vent_ep, sink_ep, control_ep, name="w", context=ctx)
    try:
        for frame in (b"garbage", b"1 vent 0 1", b"2"):
            vent.send(frame)
        results = []
        while len(results) < 2:
            worker.step(50)
            if sink.poll(0):
                results.append(sink.recv())
        assert results == [b"vent 0 1 w", b"2"]
        assert wait_until(lambda: (control.send(b"KILL"), worker.step(20), worker.killed)[2])
    finally:
        worker.close()
    kinds = [e["type"] for e in read_events(tmp_path / "t.jsonl")]
    assert kinds.count("task_done") == 2 and kinds[-1] == "killed"


def _sink(ctx, expected: int, timeout_s: float = 5.0) -> tuple[Sink, zmq.Socket, zmq.Socket]:
    results_ep, control_ep = free_endpoint(), free_endpoint()
    sink = Sink(results_ep, control_ep, expected=expected, timeout_s=timeout_s, context=ctx)
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(results_ep)
    sub = ctx.socket(zmq.SUB)
    sub.linger = 0
    sub.setsockopt(zmq.SUBSCRIBE, b"")
    sub.connect(control_ep)
    return sink, push, sub


def test_sink_counts_each_task_once_and_broadcasts_kill(ctx) -> None:
    sink, push, sub = _sink(ctx, expected=3)
    try:
        for frame in (b"0", b"v 0 1 w", b"v 0 1 w", b"v 0 2 w", b"", b"garbage frame"):
            push.send(frame)
        # 1, 2, one untracked (b""), one untracked (garbage: whose result, unknown)
        assert wait_until(lambda: (sink.step(), sink.finished)[1], 5.0)
        assert sink.counted == {"v:0:1", "v:0:2"} and sink.tally == 3
        assert wait_until(lambda: (sink.step(), sub.poll(0))[1], 5.0)
        assert sub.recv() == tasks.KILL
    finally:
        sink.close()


def test_sink_gives_up_on_missing_results(ctx) -> None:
    sink, push, _sub = _sink(ctx, expected=5, timeout_s=0.2)
    try:
        push.send(b"v 0 1 w")
        assert wait_until(lambda: (sink.step(), sink.finished)[1], 5.0)
        assert sink.tally == 1
    finally:
        sink.close()


# -- role processes -------------------------------------------------------------------


@pytest.mark.parametrize("role", ["ventilator", "worker", "sink"])
def test_every_role_documents_its_options(role: str) -> None:
    text = help_text(f"patterns.pipeline.{role}")
    assert "--hwm" in text and "--buffer" in text and "--verbose" in text


@pytest.mark.slow
def test_a_batch_end_to_end_with_the_kill_signal(tmp_path) -> None:
    tasks_ep, results_ep, control_ep = free_endpoint(), free_endpoint(), free_endpoint()
    with Procs(tmp_path) as procs:
        sink = procs.spawn("sink", ["-m", "patterns.pipeline.sink", "--bind", results_ep,
                                    "--bind", control_ep, "--tasks", "60"])
        workers = [procs.spawn(f"w{i}", ["-m", "patterns.pipeline.worker", "--connect", tasks_ep,
                                         "--connect", results_ep, "--connect", control_ep])
                   for i in (1, 2)]
        vent = procs.spawn("vent", ["-m", "patterns.pipeline.ventilator", "--bind", tasks_ep,
                                    "--connect", results_ep, "--tasks", "60", "--work-ms", "5",
                                    "--workers", "2", "--wait-sink"])
        wait_for(lambda: all(w.poll() is not None for w in workers), 20, "workers to stop")
        assert [w.returncode for w in workers] == [0, 0]
        start = procs.events("vent", "batch_start")
        assert start and start[0]["workers"] == 2
        counted = [e["seq"] for e in procs.events("sink", "result")]
        assert sorted(counted) == list(range(1, 61))  # each task once
        done = {w: len(procs.events(w, "task_done")) for w in ("w1", "w2")}
        assert sum(done.values()) == 60 and min(done.values()) > 0  # both took work
        assert procs.events("sink", "batch_start")[0]["source"] == "ventilator"
        assert all(procs.events(w, "killed") for w in ("w1", "w2"))
        assert all(procs.events(w, "kill_channel")[0]["connected"] for w in ("w1", "w2"))
        assert stop(vent, signal.SIGTERM) == 0 and stop(sink, signal.SIGTERM) == 0
