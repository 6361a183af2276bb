"""The Guide's own Python pub-sub and pipeline examples against our roles.

Where the wire format is the Guide's, our roles and its examples must work
together in either direction (docs/pubsub.md and docs/pipeline.md say where
ours differs and why):

- weather: wuserver -> our subscriber; wuserver -> our proxy -> wuclient;
  our publisher -> wuproxy -> our subscriber;
- node coordination: syncpub -> our syncsubs; our syncpub -> the Guide's syncsubs;
- pipeline: taskvent -> our workers -> our sink; our ventilator -> our
  workers -> tasksink2 (whose KILL stops our workers); taskvent -> taskwork2
  -> our sink (whose KILL stops the Guide's workers); taskvent -> taskwork ->
  our sink (empty results, counted as untracked).
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.patterns.guide_examples import guide_example, output, run_guide
from tests.patterns.procs import Procs, free_endpoint, kill_groups, stop, wait_for

pytestmark = pytest.mark.slow

WAIT_S = 30.0


@pytest.fixture
def procs(tmp_path: Path):
    with Procs(tmp_path) as running:
        yield running


@pytest.fixture
def guides():
    started: list[subprocess.Popen[str]] = []
    yield started
    kill_groups(started)


def test_wuserver_feeds_our_subscriber(tmp_path, procs, guides) -> None:
    pub = free_endpoint()
    server = guide_example("wuserver", tmp_path, {'"tcp://*:5556"': f'"{pub}"'})
    guides.append(run_guide(server, tmp_path))
    sub = procs.spawn("sub", ["-m", "patterns.pubsub.subscriber", "--connect", pub,
                              "--topics", "1", "--messages", "50"])
    wait_for(lambda: sub.poll() is not None, WAIT_S, "our subscriber to take 50 updates")
    assert sub.returncode == 0
    assert "received 50 messages (50 untracked)" in procs.log("sub")


def test_wuserver_through_our_proxy_to_wuclient(tmp_path, procs, guides) -> None:
    pub, backend = free_endpoint(), free_endpoint()
    server = guide_example("wuserver", tmp_path, {'"tcp://*:5556"': f'"{pub}"'})
    client = guide_example("wuclient", tmp_path, {'"tcp://localhost:5556"': f'"{backend}"',
                                                  'else "10001"': 'else "1"'})
    guides.append(run_guide(server, tmp_path))
    procs.spawn("proxy", ["-m", "patterns.pubsub.proxy", "--bind", backend, "--connect", pub])
    wuclient = run_guide(client, tmp_path)
    guides.append(wuclient)
    wait_for(lambda: wuclient.poll() is not None, WAIT_S, "wuclient to collect 100 updates")
    assert wuclient.returncode == 0, output(client, tmp_path)
    assert "Average temperature for zipcode '1'" in output(client, tmp_path)


def test_our_publisher_through_wuproxy_to_our_subscriber(tmp_path, procs, guides) -> None:
    pub, backend = free_endpoint(), free_endpoint()
    proxy = guide_example("wuproxy", tmp_path, {'"tcp://192.168.55.210:5556"': f'"{pub}"',
                                                '"tcp://10.1.1.0:8100"': f'"{backend}"'})
    procs.spawn("pub", ["-m", "patterns.pubsub.publisher", "--bind", pub, "--rate", "500",
                        "--messages", "1500"])
    guides.append(run_guide(proxy, tmp_path))
    sub = procs.spawn("sub", ["-m", "patterns.pubsub.subscriber", "--connect", backend])
    wait_for(lambda: sub.poll() is not None, WAIT_S, "our subscriber to get END via wuproxy")
    assert sub.returncode == 0
    got = procs.events("sub", "deliver")
    assert len(got) > 100 and not any(e.get("untracked") for e in got)
    for topic in {e["topic"] for e in got}:
        seqs = [e["seq"] for e in got if e["topic"] == topic]
        assert seqs == sorted(set(seqs)), topic  # in order, none twice, through their proxy


def test_the_guides_syncpub_with_our_syncsubs(tmp_path, procs, guides) -> None:
    pub, sync = free_endpoint(), free_endpoint()
    syncpub = guide_example("syncpub", tmp_path, {
        "SUBSCRIBERS_EXPECTED = 10": "SUBSCRIBERS_EXPECTED = 2",
        "range(1000000)": "range(2000)",
        '"tcp://*:5561"': f'"{pub}"', '"tcp://*:5562"': f'"{sync}"'})
    guides.append(run_guide(syncpub, tmp_path))
    subs = [procs.spawn(f"s{i}", ["-m", "patterns.pubsub.syncsub", "--connect", pub,
                                  "--connect", sync, "--timeout-ms", "500"]) for i in (1, 2)]
    wait_for(lambda: all(s.poll() is not None for s in subs), WAIT_S, "our syncsubs to end")
    assert [s.returncode for s in subs] == [0, 0]
    for name in ("s1", "s2"):
        assert procs.events(name, "sync")[0]["hello"] is False  # the Guide sends no beacon
        assert "received 2000 messages (2000 untracked)" in procs.log(name)


def test_our_syncpub_with_the_guides_syncsubs(tmp_path, procs, guides) -> None:
    pub, sync = free_endpoint(), free_endpoint()
    syncsub = guide_example("syncsub", tmp_path, {'"tcp://localhost:5561"': f'"{pub}"',
                                                  '"tcp://localhost:5562"': f'"{sync}"'})
    publisher = procs.spawn("pub", ["-m", "patterns.pubsub.syncpub", "--bind", pub, "--bind",
                                    sync, "--subscribers", "2", "--messages", "200",
                                    "--rate", "0"])
    names = ["syncsub1", "syncsub2"]
    theirs = [run_guide(syncsub, tmp_path, name=name) for name in names]
    guides.extend(theirs)
    wait_for(lambda: all(s.poll() is not None for s in theirs), WAIT_S,
             "the Guide's syncsubs to end at our END")
    assert [s.returncode for s in theirs] == [0, 0]
    # Their subscriber counts frames: 4 per message of ours, plus the HELLOs it saw.
    counts = [int(line.split()[1]) for name in names
              for line in output(syncsub, tmp_path, name).splitlines()
              if line.startswith("Received")]
    assert len(counts) == 2 and all(c >= 4 * 200 for c in counts), counts
    assert len(procs.events("pub", "synced")) == 2
    assert stop(publisher) == 0


def _our_workers(procs: Procs, tasks: str, results: str, control: str, n: int = 2) -> list:
    return [procs.spawn(f"w{i}", ["-m", "patterns.pipeline.worker", "--connect", tasks,
                                  "--connect", results, "--connect", control])
            for i in range(1, n + 1)]


def test_taskvent_to_our_workers_and_sink(tmp_path, procs, guides) -> None:
    tasks, results, control = free_endpoint(), free_endpoint(), free_endpoint()
    vent = guide_example("taskvent", tmp_path, {'"tcp://*:5557"': f'"{tasks}"',
                                                '"tcp://localhost:5558"': f'"{results}"'})
    procs.spawn("sink", ["-m", "patterns.pipeline.sink", "--bind", results, "--bind", control,
                         "--tasks", "100"])
    workers = _our_workers(procs, tasks, results, control)
    taskvent = run_guide(vent, tmp_path, stdin=True)
    guides.append(taskvent)
    assert taskvent.stdin is not None
    taskvent.stdin.write("\n")  # "Press Enter when the workers are ready"
    taskvent.stdin.close()
    wait_for(lambda: all(w.poll() is not None for w in workers), WAIT_S,
             "our workers to stop at our sink's KILL")
    assert [w.returncode for w in workers] == [0, 0]
    done = procs.events("sink", "batch_done")
    assert done and done[0]["untracked"] == 100 and done[0]["complete"] is True
    # taskvent's "0" may come after the first results (its PUSH to the sink connects
    # while tasks already flow), which is why our sink starts the batch at either.
    assert len(procs.events("sink", "batch_start")) == 1


def test_our_ventilator_and_workers_to_tasksink2(tmp_path, procs, guides) -> None:
    tasks, results, control = free_endpoint(), free_endpoint(), free_endpoint()
    sink2 = guide_example("tasksink2", tmp_path, {'"tcp://*:5558"': f'"{results}"',
                                                  '"tcp://*:5559"': f'"{control}"'})
    tasksink = run_guide(sink2, tmp_path)
    guides.append(tasksink)
    workers = _our_workers(procs, tasks, results, control)
    # tasksink2 sends KILL once: a worker whose SUB is not yet connected would miss it
    wait_for(lambda: len(procs.events(kind="kill_channel")) == 2, WAIT_S,
             "our workers' kill-signal connections")
    procs.spawn("vent", ["-m", "patterns.pipeline.ventilator", "--bind", tasks, "--connect",
                         results, "--tasks", "100", "--work-ms", "10", "--workers", "2"])
    wait_for(lambda: tasksink.poll() is not None, WAIT_S, "tasksink2 to count 100 results")
    assert tasksink.returncode == 0 and "Total elapsed time" in output(sink2, tmp_path)
    wait_for(lambda: all(w.poll() is not None for w in workers), WAIT_S,
             "our workers to stop at the Guide's KILL")
    assert [w.returncode for w in workers] == [0, 0]
    assert all(procs.events(w, "killed") for w in ("w1", "w2"))


@pytest.mark.parametrize("worker", ["taskwork2", "taskwork"])
def test_taskvent_and_the_guides_workers_to_our_sink(tmp_path, procs, guides,
                                                     worker: str) -> None:
    tasks, results, control = free_endpoint(), free_endpoint(), free_endpoint()
    vent = guide_example("taskvent", tmp_path, {'"tcp://*:5557"': f'"{tasks}"',
                                                '"tcp://localhost:5558"': f'"{results}"'})
    rewrites = {'"tcp://localhost:5557"': f'"{tasks}"', '"tcp://localhost:5558"': f'"{results}"'}
    if worker == "taskwork2":
        rewrites['"tcp://localhost:5559"'] = f'"{control}"'
    work = guide_example(worker, tmp_path, rewrites)
    procs.spawn("sink", ["-m", "patterns.pipeline.sink", "--bind", results, "--bind", control,
                         "--tasks", "100"])
    theirs = [run_guide(work, tmp_path, name=f"{worker}-{i}") for i in (1, 2)]
    guides.extend(theirs)
    taskvent = run_guide(vent, tmp_path, stdin=True)
    guides.append(taskvent)
    assert taskvent.stdin is not None
    taskvent.stdin.write("\n")
    taskvent.stdin.close()
    wait_for(lambda: procs.events("sink", "batch_done"), WAIT_S, "our sink to count 100")
    assert procs.events("sink", "batch_done")[0]["untracked"] == 100
    if worker == "taskwork2":  # the Guide's second design stops at our KILL
        wait_for(lambda: all(w.poll() is not None for w in theirs), WAIT_S,
                 "the Guide's workers to stop at our KILL")
        assert [w.returncode for w in theirs] == [0, 0]
    else:  # its first design has no kill channel: it never stops
        assert all(w.poll() is None for w in theirs)
