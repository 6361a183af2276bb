#!/usr/bin/env bash
# The container tier of CI: build the node image offline, run scenarios of every
# pattern family on the docker runtime, check the compose files, and prove that
# nothing with our labels is left behind. Called by .ci/run; budget < 10 minutes.
#
# Works without any container registry: the base image comes from debootstrap
# (compose/build-base-image.sh), Python packages from a host-built wheelhouse
# (compose/build-wheelhouse.sh), Toxiproxy is the server embedded in our image.
#
# Environment:
#   BASE_IMAGE   base of compose/Dockerfile (default: zchaos-base:bookworm, built here)
#   IMAGE        node image to build and use (default: zchaos:latest)
#   SKIP_DOCKER_TIER=1  skip the whole tier (e.g. no root and no engine)
#   DOCKER_J     scenarios run at once on the engine (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
export PYTHONDONTWRITEBYTECODE=1

BASE_IMAGE="${BASE_IMAGE:-zchaos-base:bookworm}"
IMAGE="${IMAGE:-zchaos:latest}"
PY="$ROOT/.venv/bin/python"
ZCHAOS=("$PY" -m harness.cli)
[[ -x "$PY" ]] || { echo "docker tier: $PY missing (run .ci/run first)" >&2; exit 2; }
RUN_ID="ci-docker-$$"
WORK="$(mktemp -d /tmp/zchaos-docker-tier.XXXXXX)"
DOCKERD_PID=""
T_START=$(date +%s)

if [[ "${SKIP_DOCKER_TIER:-0}" == 1 ]]; then
    echo "docker tier: skipped (SKIP_DOCKER_TIER=1)"
    exit 0
fi

step() { echo "== docker tier [$(( $(date +%s) - T_START ))s]: $*"; }

cleanup() {
    local rc=$?
    set +e
    # Only what this tier made: runs are reaped by owner pid, the compose
    # project by its name.
    if [[ -n "${COMPOSE_DIR:-}" && -d "$COMPOSE_DIR" ]]; then
        (cd "$COMPOSE_DIR" && docker-compose -p "$RUN_ID" --profile deferred down -v \
            --timeout 1 >/dev/null 2>&1)
    fi
    "${ZCHAOS[@]}" clean >/dev/null 2>&1
    rm -rf "$WORK"
    if [[ -n "$DOCKERD_PID" ]]; then
        step "stopping the dockerd this tier started (pid $DOCKERD_PID)"
        kill "$DOCKERD_PID" 2>/dev/null
        for _ in $(seq 50); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.2; done
    fi
    exit $rc
}
trap cleanup EXIT

apt_install() {
    if [[ $(id -u) -ne 0 ]]; then
        echo "docker tier: missing $* and not root; install them or set SKIP_DOCKER_TIER=1" >&2
        exit 2
    fi
    step "installing $* (Debian packages)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null \
        || { apt-get update -q >/dev/null && \
             DEBIAN_FRONTEND=noninteractive apt-get install -y -q "$@" >/dev/null; }
}

# -- 1. tools ----------------------------------------------------------------
missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
if (( ${#missing[@]} )); then apt_install "${missing[@]}"; fi

# -- 2. engine -----------------------------------------------------------------
if ! docker info >/dev/null 2>&1; then
    step "starting dockerd"
    nohup dockerd >"$WORK/dockerd.log" 2>&1 &
    DOCKERD_PID=$!
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 0.5; done
    docker info >/dev/null 2>&1 || { cat "$WORK/dockerd.log" >&2; exit 1; }
fi

# -- 3. images -----------------------------------------------------------------
if [[ "$BASE_IMAGE" == zchaos-base:* ]]; then
    step "base image $BASE_IMAGE (debootstrap; cached)"
    compose/build-base-image.sh "$BASE_IMAGE"
fi
step "wheelhouse"
compose/build-wheelhouse.sh "$PY" >"$WORK/wheelhouse.log" 2>&1 \
    || { cat "$WORK/wheelhouse.log" >&2; exit 1; }
tail -n1 "$WORK/wheelhouse.log"
step "node image $IMAGE"
docker build -f compose/Dockerfile --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$IMAGE" . \
    >"$WORK/build.log" 2>&1 || { tail -n 40 "$WORK/build.log" >&2; exit 1; }
docker image prune -f --filter "label=org.opencontainers.image.title=zchaos" >/dev/null 2>&1 || true

# -- 4. scenarios on the docker runtime: every pattern family -------------------
SCENARIOS=(
    # one or two per family (all but hello-steady with a process or network fault),
    # chosen among those whose verdict holds when container starts are slow (loaded CI)
    scenarios/hello/hello-steady.yaml
    scenarios/freelance/freelance1-all-killed-one-returns.yaml   # negative control
    scenarios/lazy_pirate/lazy-pirate-server-restart.yaml
    scenarios/simple_pirate/simple-pirate-slow-worker-link.yaml
    scenarios/paranoid_pirate/paranoid-pirate-queue-restart.yaml
    scenarios/majordomo/majordomo-worker-killed.yaml
    scenarios/majordomo/majordomo-partitions.yaml
    scenarios/titanic/titanic-kill-restart.yaml
    scenarios/binary_star/bstar-primary-killed.yaml
    scenarios/freelance/freelance2-partitions.yaml
    # chapter 1-3 families (round 2): brokers, clusters, one-way flows
    scenarios/shared_queue/shared-queue-worker-killed.yaml
    scenarios/lbbroker/lbbroker-worker-killed-retry.yaml
    scenarios/async_server/async-server-restart.yaml
    scenarios/peering/peering-state-partition.yaml
    scenarios/pubsub/pubsub-proxy-restart.yaml
    scenarios/pipeline/pipeline-worker-killed.yaml              # negative control
)
present=()
for s in "${SCENARIOS[@]}"; do [[ -f "$s" ]] && present+=("$s"); done
(( ${#present[@]} )) || { echo "docker tier: no scenarios found" >&2; exit 1; }
step "zchaos run --runtime docker (${#present[@]} scenarios)"
# -j 2: the engine queues container starts; six runs at once (the default on
# 2 cores) made a restart "500 ms later" take 1.5 s on a loaded CI box, longer
# than the clients' retry budgets (0/32 mismatches at -j 2 beside 2-4 CPU loops).
"${ZCHAOS[@]}" run --runtime docker --image "$IMAGE" --toxiproxy-image embedded \
    -j "${DOCKER_J:-2}" --report-dir reports --run-id "$RUN_ID" "${present[@]}"   # kept in reports/$RUN_ID

# -- 5. compose files ------------------------------------------------------------
step "docker-compose config: docker-compose.yml (+ embedded overlay)"
docker-compose -f docker-compose.yml config -q
docker-compose -f docker-compose.yml -f compose/embedded-toxiproxy.yml config -q
COMPOSE_DIR="$WORK/compose"
step "zchaos compose -> docker-compose config"
"${ZCHAOS[@]}" compose scenarios/majordomo/majordomo-worker-killed.yaml -o "$COMPOSE_DIR" \
    --image "$IMAGE" >/dev/null
(cd "$COMPOSE_DIR" && docker-compose --profile deferred config -q)

# -- 6. container tests ------------------------------------------------------------
step "pytest -m docker tests/docker"
ZCHAOS_TEST_IMAGE="$IMAGE" "$PY" -m pytest -q -p no:cacheprovider -m docker tests/docker

# -- 7. nothing left behind ----------------------------------------------------------
# Leaks are resources of this tier's runs, or of any harness that is dead (the
# tests' harness processes have all exited by now); a live run of someone else
# sharing the engine is not a leak.
step "checking that nothing with zchaos labels is left"
"$PY" - "$RUN_ID" <<'PYEOF'
import sys
from harness.runtime.docker_engine import docker_client
from harness.runtime.docker_reaper import leftovers, orphans
client = docker_client()
left = leftovers(client, sys.argv[1]) + orphans(client)
for item in left:
    print(f"docker tier: left behind: {item}", file=sys.stderr)
raise SystemExit(1 if left else 0)
PYEOF
step "passed"
