"""The role catalogue: which roles exist, what they bind, which options they take.

The scenario loader validates nodes against this table (unknown role or
option = error), the topology uses ``binds`` and ``connect_port`` to wire
edges, and the runtime renders options into command-line flags. Keeping it
in one table is what lets ``--impl ROLE=COMMAND`` hand a user's program the
exact flags our built-in role would get.

Rendering rules (docs/roles.md):

- a ``duration`` option ``heartbeat: 100ms`` becomes ``--heartbeat-ms 100``;
- ``int``/``float``/``str`` options ``retries: 3`` become ``--retries 3``;
- a ``bool`` option ``primary: true`` becomes ``--primary``, ``false`` ``--no-primary``;
- underscores become dashes (``backoff_max`` -> ``--backoff-max-ms``);
- binds: ``--bind ENDPOINT`` once per entry of ``binds``, in that order;
- connects: ``--connect ENDPOINT`` once per edge, in the scenario's order; an edge to
  a target bind the connecting role lists in ``connect_flags`` uses that flag instead
  (a peering broker gets ``--connect-state`` for its peers' state publishers);
- ``data_dir`` roles get ``--data-dir DIR`` (kept across restarts of the node).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

OptionType = Literal["duration", "int", "float", "str", "bool"]

# The shared vocabulary: one meaning per name across every role.
OPTION_TYPES: dict[str, OptionType] = {
    # how long to wait for an expected message (--timeout-ms): a reply per attempt; for
    # one-way roles a sync reply, the sink's next result, the ventilator's peers
    "timeout": "duration",
    "retries": "int",  # sends per request in total
    "requests": "int",  # requests a client sends before exiting (0 = until stopped)
    "rate": "float",  # requests (messages, tasks) per second per sender (0 = back to back)
    "heartbeat": "duration",  # heartbeat interval (--heartbeat-ms)
    "liveness": "int",  # missed heartbeats before a peer counts as dead
    "reconnect": "duration",  # reconnect delay / initial back-off (--reconnect-ms)
    "backoff_max": "duration",  # back-off ceiling (--backoff-max-ms)
    "service": "str",  # MDP service name
    "work": "duration",  # simulated work per request (ventilator: each task's, drawn 1..work)
    "window": "int",  # async clients: requests in flight
    "settle": "duration",  # Binary Star client: wait before switching server
    "poll": "duration",  # Titanic client: wait between titanic.reply polls
    "dispatch_timeout": "duration",  # Titanic dispatcher: MDP timeout per attempt
    "ping": "duration",  # Freelance 3: ping interval
    "ttl": "duration",  # Freelance 3: server time to live
    "primary": "bool",  # Binary Star: this server is the primary
    "backup": "bool",  # Binary Star: this server is the backup
    "fsync": "bool",  # Titanic: fsync before acknowledging (default on)
    "threads": "int",  # worker threads inside a server process (async server)
    "name": "str",  # a broker's name as its peers know it (peering; default: the node name)
    "verbose": "bool",
    # One-way flows (pub-sub, pipeline; docs/pubsub.md, docs/pipeline.md)
    "hwm": "int",  # high-water mark of every socket of the role (messages; 0 = no limit)
    "buffer": "int",  # kernel send/receive buffer of every socket, bytes (0 = OS default)
    "topics": "str",  # comma-separated topics: published round-robin / subscribed to (prefixes)
    "messages": "int",  # messages to publish (then END) / to receive before exiting (0 = no end)
    "size": "int",  # publisher: pad each message's data to this many bytes
    "subscribers": "int",  # sync publisher: sync requests to wait for before publishing
    "tasks": "int",  # tasks in the pipeline's batch (ventilator sends, sink expects)
    "workers": "int",  # ventilator: workers to wait for before the batch (0 = none)
    "wait_sink": "bool",  # ventilator: wait for the sink connection first ("start the sink first")
}


@dataclass(frozen=True)
class GiveUp:
    """How long a client may hold one request before it must give up.

    ``sends`` attempts, each waiting up to ``wait`` seconds for its reply, with
    ``pause`` seconds between two attempts (Binary Star's settle delay). The
    checkers judge ``bounded_give_up`` and the default deadlines of
    ``every_request_answered`` by this, so it must say what the role's code
    does, option defaults included.
    """

    sends: int
    wait: float  # s per attempt
    pause: float = 0.0  # s between attempts

    @property
    def total(self) -> float:
        """Seconds from the first send to giving up."""
        return self.sends * self.wait + max(0, self.sends - 1) * self.pause


# A role's give-up budget from its node's options (durations in ms, as scenarios
# resolve them) and the number of nodes it connects to; None = it never gives up.
BudgetFn = Callable[[Mapping[str, Any], int], "GiveUp | None"]


@dataclass(frozen=True)
class Role:
    """One runnable role: ``python -m {module}`` plus its wiring."""

    name: str
    module: str
    kind: Literal["client", "server"]
    binds: tuple[str, ...] = ()  # named endpoints, rendered as --bind in this order
    connect_port: str | None = None  # which bind of the target an edge uses (None = first)
    # target bind name -> the flag an edge to it renders as (default --connect), for roles
    # that connect to several kinds of socket and must tell their endpoints apart
    connect_flags: tuple[tuple[str, str], ...] = ()
    options: frozenset[str] = field(default_factory=frozenset)
    data_dir: bool = False
    summary: str = ""
    give_up: BudgetFn | None = None  # clients with a retry budget (see GiveUp)

    def budget(self, options: Mapping[str, Any], connects: int = 1) -> GiveUp | None:
        """This role's give-up budget for a node with ``options``, or None."""
        return None if self.give_up is None else self.give_up(options, connects)

    @property
    def command(self) -> list[str]:
        return ["{python}", "-m", self.module]

    def connect_flag(self, port: str) -> str:
        """The flag that hands this role an edge to a target's bind named ``port``."""
        return dict(self.connect_flags).get(port, "--connect")


_CLIENT = frozenset({"timeout", "retries", "requests", "rate", "verbose"})


def _number(options: Mapping[str, Any], name: str, default: float) -> float:
    value = options.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return float(default)
    return float(value)


def _sends_each_wait(timeout_ms: float, retries: int, *, per_server: bool = False) -> BudgetFn:
    """``retries`` sends in total, each waiting ``timeout``; with ``per_server``
    at least one send per connected server (Freelance model 1)."""

    def budget(options: Mapping[str, Any], connects: int) -> GiveUp:
        sends = max(1, int(_number(options, "retries", retries)))
        if per_server:
            sends = max(sends, connects)
        return GiveUp(sends=sends, wait=_number(options, "timeout", timeout_ms) / 1000.0)

    return budget


def _binary_star_budget(options: Mapping[str, Any], connects: int) -> GiveUp | None:
    """Attempts alternate servers with a settle pause between them; 0 = no limit."""
    sends = int(_number(options, "retries", 1000))
    if sends < 1:
        return None
    return GiveUp(sends=sends, wait=_number(options, "timeout", 1000) / 1000.0,
                  pause=_number(options, "settle", 2000) / 1000.0)


def _role(name: str, kind: Literal["client", "server"], **kw: object) -> Role:
    return Role(name=name, module=f"patterns.{name}", kind=kind, **kw)  # type: ignore[arg-type]


ROLES: dict[str, Role] = {
    r.name: r
    for r in [
        _role("hello.server", "server", binds=("frontend",), options=frozenset({"work", "verbose"}),
              summary="plain REP echo server"),
        _role("hello.client", "client", options=_CLIENT, summary="plain REQ client, no retries"),
        _role("lazy_pirate.server", "server", binds=("frontend",),
              options=frozenset({"work", "verbose"}), summary="REP echo server"),
        _role("lazy_pirate.client", "client", options=_CLIENT,
              summary="REQ client: timeout, close-and-reopen, retries",
              give_up=_sends_each_wait(2500, 3)),
        _role("simple_pirate.queue", "server", binds=("frontend", "backend"),
              options=frozenset({"verbose"}), summary="ROUTER/ROUTER LRU queue"),
        _role("simple_pirate.worker", "server", connect_port="backend",
              options=frozenset({"work", "verbose"}), summary="REQ echo worker (READY 0x01)"),
        _role("paranoid_pirate.queue", "server", binds=("frontend", "backend"),
              options=frozenset({"heartbeat", "liveness", "verbose"}),
              summary="PPP queue: heartbeats, worker expiry"),
        _role("paranoid_pirate.worker", "server", connect_port="backend",
              options=frozenset({"heartbeat", "liveness", "reconnect", "backoff_max", "work",
                                 "verbose"}),
              summary="PPP DEALER worker: heartbeats, back-off"),
        _role("majordomo.broker", "server", binds=("frontend",),
              options=frozenset({"heartbeat", "liveness", "verbose"}),
              summary="MDP 0.1 broker with MMI"),
        _role("majordomo.worker", "server",
              options=frozenset({"service", "heartbeat", "liveness", "reconnect", "work",
                                 "verbose"}),
              summary="MDP worker (echo)"),
        _role("majordomo.client", "client", options=_CLIENT | {"service"},
              summary="synchronous MDP client with retries", give_up=_sends_each_wait(2500, 3)),
        _role("majordomo.mmi_probe", "client", options=_CLIENT | {"service"},
              summary="asks mmi.service about --service; emits mmi events",
              give_up=_sends_each_wait(1000, 3)),
        _role("majordomo.async_client", "client", options=_CLIENT | {"service", "window"},
              summary="pipelined MDP client (DEALER)", give_up=_sends_each_wait(2500, 3)),
        _role("titanic.service", "server",
              options=frozenset({"heartbeat", "liveness", "reconnect", "dispatch_timeout",
                                 "fsync", "verbose"}),
              data_dir=True, summary="TSP: titanic.request/reply/close + dispatcher"),
        _role("titanic.client", "client", options=_CLIENT | {"service", "poll"}, data_dir=True,
              summary="TSP client: request, poll reply, close"),
        _role("binary_star.server", "server", binds=("frontend", "state"), connect_port="state",
              options=frozenset({"primary", "backup", "heartbeat", "verbose"}),
              summary="Binary Star echo server (--primary|--backup)"),
        _role("binary_star.client", "client", options=_CLIENT | {"settle"},
              summary="Binary Star client: primary first, then backup",
              give_up=_binary_star_budget),
        _role("freelance.server1", "server", binds=("frontend",),
              options=frozenset({"work", "verbose"}), summary="Freelance model 1 REP echo"),
        _role("freelance.client1", "client", options=_CLIENT,
              summary="Freelance model 1: REQ, retry then fail over",
              give_up=_sends_each_wait(1000, 3, per_server=True)),
        _role("freelance.server2", "server", binds=("frontend",),
              options=frozenset({"work", "verbose"}), summary="Freelance model 2 REP [seq|OK]"),
        _role("freelance.client2", "client", options=_CLIENT,
              summary="Freelance model 2: DEALER shotgun (retries = rounds)",
              give_up=_sends_each_wait(2500, 1)),
        _role("freelance.server3", "server", binds=("frontend",),
              options=frozenset({"work", "verbose"}), summary="FLP ROUTER server"),
        _role("freelance.client3", "client", options=_CLIENT | {"ping", "ttl"},
              summary="FLP ROUTER client with agent thread", give_up=_sends_each_wait(1000, 3)),
        _role("shared_queue.rrbroker", "server", binds=("frontend", "backend"),
              options=frozenset({"verbose"}), summary="ROUTER/DEALER broker, own poll loop"),
        _role("shared_queue.msgqueue", "server", binds=("frontend", "backend"),
              options=frozenset({"verbose"}), summary="ROUTER/DEALER broker on zmq.proxy"),
        _role("shared_queue.worker", "server", connect_port="backend",
              options=frozenset({"work", "verbose"}), summary="REP echo worker (connects)"),
        _role("lbbroker.broker", "server", binds=("frontend", "backend"),
              options=frozenset({"verbose"}), summary="load-balancing broker: LRU, READY"),
        _role("lbbroker.worker", "server", connect_port="backend",
              options=frozenset({"work", "verbose"}), summary="REQ echo worker (READY)"),
        _role("async_server.server", "server", binds=("frontend", "backend"),
              options=frozenset({"threads", "work", "verbose"}),
              summary="ROUTER -> DEALER proxy, worker threads"),
        _role("async_server.worker", "server", connect_port="backend",
              options=frozenset({"work", "verbose"}), summary="DEALER echo worker process"),
        _role("async_server.client", "client", options=_CLIENT | {"window"},
              summary="DEALER client, --window requests in flight",
              give_up=_sends_each_wait(2500, 3)),
        _role("peering.broker", "server", binds=("frontend", "backend", "cloud", "state"),
              connect_port="cloud", connect_flags=(("state", "--connect-state"),),
              options=frozenset({"name", "heartbeat", "liveness", "verbose"}),
              summary="peering broker: local LRU, state PUB/SUB, cloud ROUTER"),
        # One-way flows: the stream's sources bind and start first (servers); the
        # receivers are the workload (clients): a run starts when they are up and
        # ends early once every one has exited (END received, kill signal obeyed).
        _role("pubsub.publisher", "server", binds=("publish",),
              options=frozenset({"topics", "rate", "messages", "size", "hwm", "buffer", "verbose"}),
              summary="weather PUB: topic envelopes, per-topic sequence numbers"),
        _role("pubsub.subscriber", "client",
              options=frozenset({"topics", "messages", "hwm", "buffer", "verbose"}),
              summary="SUB with topic filters; traces every delivery"),
        _role("pubsub.proxy", "server", binds=("backend",),
              options=frozenset({"hwm", "buffer", "verbose"}),
              summary="XSUB/XPUB zmq.proxy: connects to publishers, binds for subscribers"),
        _role("pubsub.syncpub", "server", binds=("publish", "sync"),
              options=frozenset({"topics", "rate", "messages", "size", "hwm", "buffer",
                                 "subscribers", "verbose"}),
              summary="publisher that waits for N subscribers over REQ/REP, beaconing HELLO"),
        _role("pubsub.syncsub", "client",
              options=frozenset({"topics", "messages", "hwm", "buffer", "timeout", "verbose"}),
              summary="subscriber that syncs (after a HELLO) before listening"),
        _role("pipeline.ventilator", "server", binds=("tasks",),
              options=frozenset({"tasks", "rate", "work", "workers", "wait_sink", "timeout",
                                 "hwm", "buffer", "verbose"}),
              summary="PUSH a batch of tasks; '0' to the sink"),
        _role("pipeline.worker", "client", options=frozenset({"hwm", "buffer", "verbose"}),
              summary="PULL tasks, PUSH results, exit on the sink's kill signal"),
        _role("pipeline.sink", "server", binds=("results", "control"),
              options=frozenset({"tasks", "timeout", "hwm", "buffer", "verbose"}),
              summary="PULL results, count each task once, PUB KILL when done"),
    ]
}


def get_role(name: str) -> Role | None:
    return ROLES.get(name)


def give_up_budget(role: str, options: Mapping[str, Any], connects: int = 1) -> GiveUp | None:
    """The give-up budget of a node of ``role`` (None: unknown role, or it never gives up)."""
    found = ROLES.get(role)
    return None if found is None else found.budget(options, connects)


def flag_for(option: str) -> str:
    """The command-line flag an option renders to (``heartbeat`` -> ``--heartbeat-ms``)."""
    base = "--" + option.replace("_", "-")
    return base + "-ms" if OPTION_TYPES.get(option) == "duration" else base


def render_option(option: str, value: object) -> list[str]:
    """Flags for one option value; durations arrive here already in milliseconds."""
    kind = OPTION_TYPES.get(option, "str")
    flag = flag_for(option)
    if kind == "bool":
        return [flag] if value else ["--no-" + option.replace("_", "-")]
    if kind == "duration":
        return [flag, str(round(float(value)))]  # type: ignore[arg-type]
    return [flag, str(value)]
