#!/usr/bin/env bash
# Load benchmark: caresignal against the Flask + scikit-learn anchor and against a bare
# net/http floor, in one run, on 127.0.0.1 only, with the same wrk load; then caresignal and the
# floor at one fixed offered rate (scripts/loadbench/rate) for tail latency.  See docs/benchmarks.md.
#
#   scripts/loadbench/run.sh                    # from any directory; about 5 minutes
#   OUT=/tmp/lb DURATION=30s scripts/loadbench/run.sh
#
# Env overrides:
#   DURATION=20s WARMUP=5s   measured run and the warmup run before it (wrk -d)
#   CONNS=64                 connections for the single-patient runs
#   BATCH_CONNS=8            connections for the 100-patient runs
#   REPEATS=1                measured single-patient runs per server (the median by req/s is reported)
#   RATE_PCT=50              the fixed-rate runs offer this % of caresignal's saturated single-patient
#                            req/s measured earlier in the same run, to caresignal and to the floor
#   RATE=...                 offer this many req/s instead (RATE_PCT is then ignored)
#   RATE_CONNS=$CONNS        connections (the most requests in flight) for the fixed-rate runs
#   FULL_BATCH=1             also load caresignal with the anchor's batch body as it is (full answers:
#                            reported, not a target); 0 skips that run
#   CS_ENV=...               extra environment for "caresignal serve" only, e.g. GOMAXPROCS=3
#   CS_FLAGS=...             extra flags for "caresignal serve", e.g. --prediction-log=false, or
#                            "--mode prod --trusted-proxy 127.0.0.1" (the script then makes the keys)
#   API_KEY=...              when set, requests to caresignal (and to the floor, so that both see the
#                            same request) carry "Authorization: Bearer $API_KEY"; never written to OUT
#   PROFILE=1                also take a CPU profile of caresignal during each of its measured runs
#                            (serve --debug-addr on a fourth port): OUT/<label>.cpu.prof, read with
#                            go tool pprof -top -cum OUT/<label>.cpu.prof
#   OUT=<tmp>/results        where raw wrk outputs, metrics.jsonl, summary.md and summary.json go
#   ANCHOR_DIR=/work/shared/anchors/flask-sklearn   the reference stack (read only; copied)
#   PORT_BASE=18700          first port tried; three free ports from there are used (four with PROFILE)
#   QUIET_PCT=15 QUIET_MAX_S=30   before each measurement wait (bounded) until other processes
#                            use at most QUIET_PCT % of the CPUs
#   NOISY_PCT=15 ATTEMPTS=2  measure again when other processes used more than NOISY_PCT % of the
#                            CPUs during a measured run (every attempt is kept and reported)
#   BUDGET_S=480             after this many seconds, no more waiting for quiet nor retries
#
# Needs go on PATH, and (installed with apt-get when absent; root or sudo) /usr/bin/python3 with
# python3-sklearn python3-flask python3-pandas python3-numpy, gunicorn, wrk, curl.
# Exit status: 0 when the run completed (targets may still FAIL: see summary), non-zero on error.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ANCHOR_DIR=${ANCHOR_DIR:-/work/shared/anchors/flask-sklearn}
PY=/usr/bin/python3
HOST=127.0.0.1
DURATION=${DURATION:-20s}
WARMUP=${WARMUP:-5s}
CONNS=${CONNS:-64}
BATCH_CONNS=${BATCH_CONNS:-8}
REPEATS=${REPEATS:-1}
RATE_PCT=${RATE_PCT:-50}
RATE=${RATE:-}
RATE_CONNS=${RATE_CONNS:-$CONNS}
FULL_BATCH=${FULL_BATCH:-1}
PORT_BASE=${PORT_BASE:-18700}
QUIET_PCT=${QUIET_PCT:-15}
QUIET_MAX_S=${QUIET_MAX_S:-30}
NOISY_PCT=${NOISY_PCT:-15}
ATTEMPTS=${ATTEMPTS:-2}
BUDGET_S=${BUDGET_S:-480}                  # no more waiting or retries once the script has run this long
WORKERS=5                                  # the anchor's Procfile: gunicorn --workers 5 (sync)
NCPU=$(nproc)
TCK=$(getconf CLK_TCK)

tmp="$(mktemp -d /tmp/loadbench.XXXXXX)"
OUT=${OUT:-$tmp/results}
mkdir -p "$OUT" "$tmp/logs"
OUT="$(cd "$OUT" && pwd)"
METRICS=$OUT/metrics.jsonl
: > "$METRICS"

declare -A SPID=()                         # server name -> PID this script started
SAMPLER_PID=

log() { echo "[$(date -u +%T)] $*" | tee -a "$OUT/run.log" >&2; }
die() { log "error: $*"; exit 1; }

stop_pid() {  # pid: TERM, up to 10 s, then KILL; only the PID this script started (gunicorn's
  local pid=$1 i  # master stops its own workers)
  kill -TERM "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  local rc=$? name
  trap - EXIT INT TERM
  if [[ -n $SAMPLER_PID ]]; then kill "$SAMPLER_PID" 2>/dev/null || true; fi
  for name in "${!SPID[@]}"; do stop_pid "${SPID[$name]}"; done
  # keep the results; drop the rest (data, model, builds, logs)
  if [[ $OUT == "$tmp"/* ]]; then
    find "$tmp" -mindepth 1 -maxdepth 1 ! -path "$OUT" -exec rm -rf {} +
  else
    rm -rf "$tmp"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

secs() {  # wrk duration (20s, 1m, 2h, 20) -> seconds
  [[ $1 =~ ^([0-9]+)(s|m|h)?$ ]] || die "bad duration: $1"
  case ${BASH_REMATCH[2]} in m) echo $((BASH_REMATCH[1] * 60)) ;; h) echo $((BASH_REMATCH[1] * 3600)) ;; *) echo "${BASH_REMATCH[1]}" ;; esac
}
DUR_S=$(secs "$DURATION")
WARM_S=$(secs "$WARMUP")
[[ -z $RATE || $RATE =~ ^[0-9]+([.][0-9]+)?$ ]] || die "bad RATE: $RATE (req/s)"
[[ $RATE_PCT =~ ^[0-9]+([.][0-9]+)?$ ]] || die "bad RATE_PCT: $RATE_PCT"

# ---------------------------------------------------------------- requirements
install_missing() {
  local pkgs=()
  "$PY" -c 'import sklearn, flask, pandas, numpy' 2>/dev/null ||
    pkgs+=(python3-sklearn python3-flask python3-pandas python3-numpy)
  "$PY" -c 'import gunicorn' 2>/dev/null || pkgs+=(gunicorn)
  command -v wrk >/dev/null || pkgs+=(wrk)
  command -v curl >/dev/null || pkgs+=(curl)
  command -v pgrep >/dev/null || pkgs+=(procps)
  ((${#pkgs[@]} == 0)) && return 0
  local sudo=()
  if [[ $(id -u) -ne 0 ]]; then
    command -v sudo >/dev/null || die "missing ${pkgs[*]} and apt-get needs root"
    sudo=(sudo)
  fi
  log "installing with apt-get: ${pkgs[*]}"
  "${sudo[@]}" apt-get update -qq > "$OUT/apt.txt" 2>&1
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${pkgs[@]}" >> "$OUT/apt.txt" 2>&1 || die "apt-get install failed (see $OUT/apt.txt)"
}
[[ -x $PY ]] || die "$PY is missing (Debian's python3)"
install_missing
"$PY" -c 'import sklearn, flask, pandas, numpy, gunicorn' || die "python packages still missing"
for t in go wrk curl timeout pgrep ss; do command -v "$t" >/dev/null || die "$t is not on PATH"; done
[[ -f $ANCHOR_DIR/post.lua && -f $ANCHOR_DIR/body_batch100.json ]] || die "no anchor in $ANCHOR_DIR"

free_port() {  # first port >= $1 with no listener
  local p=$1
  while [[ -n $(ss -Htln "sport = :$p") ]]; do p=$((p + 1)); done
  echo "$p"
}
CS_PORT=$(free_port "$PORT_BASE")
FLOOR_PORT=$(free_port $((CS_PORT + 1)))
ANCHOR_PORT=$(free_port $((FLOOR_PORT + 1)))
PROFILE=${PROFILE:-}
DEBUG_PORT=
[[ -n $PROFILE ]] && DEBUG_PORT=$(free_port $((ANCHOR_PORT + 1)))

{
  echo "date_utc: $(date -u '+%Y-%m-%d %H:%M:%S')"
  echo "nproc: $NCPU"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
  echo "mem_total: $(awk '/MemTotal/ {printf "%.1f GiB", $2 / 1048576}' /proc/meminfo)"
  echo "kernel: $(uname -r)"
  echo "os: $(. /etc/os-release && echo "$PRETTY_NAME")"
  echo "go: $(go version)"
  echo "caresignal_commit: $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(git -C "$root" diff --quiet HEAD 2>/dev/null || echo ' (+ uncommitted changes)')"
  echo "python: $("$PY" -c 'import sys; print(sys.version.split()[0])')"
  echo "libs: $("$PY" -c 'import sklearn, flask, pandas, numpy; print("sklearn", sklearn.__version__, "flask", flask.__version__, "pandas", pandas.__version__, "numpy", numpy.__version__)')"
  echo "gunicorn: $("$PY" -m gunicorn --version 2>&1)"
  echo "wrk: $(wrk -v 2>&1 | head -1)"
  echo "settings: DURATION=$DURATION WARMUP=$WARMUP CONNS=$CONNS BATCH_CONNS=$BATCH_CONNS REPEATS=$REPEATS RATE_PCT=$RATE_PCT RATE=${RATE:-} RATE_CONNS=$RATE_CONNS FULL_BATCH=$FULL_BATCH ATTEMPTS=$ATTEMPTS NOISY_PCT=$NOISY_PCT QUIET_PCT=$QUIET_PCT CS_ENV=${CS_ENV:-} CS_FLAGS=${CS_FLAGS:-} API_KEY=$([[ -n ${API_KEY:-} ]] && echo set || echo unset)"
  echo "ports: caresignal=$CS_PORT floor=$FLOOR_PORT anchor=$ANCHOR_PORT${DEBUG_PORT:+ caresignal-profiling=$DEBUG_PORT}"
  echo "loadavg_at_start: $(cat /proc/loadavg)"
} | tee "$OUT/machine.txt"

# ---------------------------------------------------------------- process helpers
tree_pids() {  # the given PIDs and their direct children (gunicorn workers)
  local p
  for p in "$@"; do echo "$p"; pgrep -P "$p" || true; done
}
server_pids() {  # name -> PIDs of that server's processes
  tree_pids "${SPID[$1]}"
}
mem_of() {  # name -> "rss_kb hwm_kb nprocs", summed over the server's processes
  local rss=0 hwm=0 n=0 p r h
  for p in $(server_pids "$1"); do
    read -r r h < <(awk '/^VmRSS:/ {r = $2} /^VmHWM:/ {h = $2} END {print r + 0, h + 0}' "/proc/$p/status" 2>/dev/null || true)
    rss=$((rss + ${r:-0})); hwm=$((hwm + ${h:-0})); n=$((n + 1))
  done
  echo "$rss $hwm $n"
}
ticks_of() {  # PIDs -> utime+stime clock ticks
  local p
  for p in "$@"; do sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true; done | awk '{s += $12 + $13} END {print s + 0}'
}
all_server_ticks() {
  local name pids=()
  for name in "${!SPID[@]}"; do pids+=($(server_pids "$name")); done
  ticks_of "${pids[@]}"
}
sys_busy() { awk '/^cpu / {print $2 + $3 + $4 + $7 + $8 + $9}' /proc/stat; }   # incl. steal
sys_total() { awk '/^cpu / {for (i = 2; i <= 9; i++) t += $i; print t}' /proc/stat; }

wait_quiet() {  # bounded wait until other processes leave the CPUs mostly idle
  local waited=0 b0 b1 s0 s1 t0 t1 pct
  while :; do
    s0=$(all_server_ticks); t0=$(sys_total); b0=$(sys_busy); sleep 2
    b1=$(sys_busy); t1=$(sys_total); s1=$(all_server_ticks)
    pct=$((100 * (b1 - b0 - (s1 - s0)) / (t1 - t0 > 0 ? t1 - t0 : 1)))
    ((pct <= QUIET_PCT)) && return 0
    if ((waited >= QUIET_MAX_S || SECONDS >= BUDGET_S)); then log "machine still ${pct}% busy with other processes; measuring anyway"; return 0; fi
    ((waited == 0)) && log "machine ${pct}% busy with other processes; waiting (at most ${QUIET_MAX_S}s)"
    sleep 1; waited=$((waited + 3))
  done
}

start_server() {  # name health-url command...
  local name=$1 url=$2 i; shift 2
  log "start $name: $*"
  "$@" > "$tmp/logs/$name.out" 2> "$tmp/logs/$name.err" &
  SPID[$name]=$!
  for i in $(seq 1 120); do
    kill -0 "${SPID[$name]}" 2>/dev/null || { tail -20 "$tmp/logs/$name.err" >&2; die "$name exited at start"; }
    curl -sf -o /dev/null --max-time 2 "$url" && { log "$name healthy (pid ${SPID[$name]})"; return 0; }
    sleep 0.5
  done
  die "$name did not answer $url within 60 s"
}

record_mem() {  # name phase
  local rss hwm n
  read -r rss hwm n < <(mem_of "$1")
  log "memory $1 $2: rss=${rss} KiB hwm=${hwm} KiB processes=$n"
  printf '{"kind":"mem","server":"%s","phase":"%s","rss_kb":%d,"hwm_kb":%d,"procs":%d}\n' \
    "$1" "$2" "$rss" "$hwm" "$n" >> "$METRICS"
}

post() {  # url body-file out-file -> HTTP status (curl with the headers wrk sends)
  local auth=()
  [[ -n ${API_KEY:-} && $1 != *":$ANCHOR_PORT/"* ]] && auth=(-H "Authorization: Bearer $API_KEY")
  curl -s --max-time 30 -o "$3" -w '%{http_code}' -H 'Content-Type: application/json' "${auth[@]}" \
    --data-binary "@$2" "$1"
}

# measure label server body conns url client [body-file] [attempt]: warmup, then the measured run
# with the server's memory sampled every second; one "load" line in metrics.jsonl.  client is the
# Lua script for wrk (saturation: as fast as the connections go), or rate=<req/s> for the
# constant-rate client (that many requests per second offered, latency from each scheduled send;
# body-file is then required).  Sets OTHER_PCT: the share of the CPUs that processes other than
# this server and the client used during the measured run.
measure() {
  local label=$1 server=$2 body=$3 c=$4 url=$5 client=$6 file=${7:-} attempt=${8:-1}
  local t rc=0 b0 b1 s0 s1 cpu wrkjson rss hwm n mx offered=null tool warm=() run=()
  if [[ $client == rate=* ]]; then
    offered=${client#rate=} tool=rate t=0
    local args=(-url "$url" -body "$file" -rate "$offered" -conns "$c" -timeout 10s)
    [[ -n ${API_KEY:-} && $server != anchor ]] && args+=(-bearer-env API_KEY)   # read from the environment
    warm=("$tmp/rate" -duration "${WARM_S}s" "${args[@]}")
    run=("$tmp/rate" -duration "${DUR_S}s" "${args[@]}")
  else
    tool=wrk t=$((c < 2 ? 1 : 2))
    local args=(-t"$t" -c"$c" --timeout 10s --latency -s "$client" "$url")
    [[ -n $file ]] && args+=(-- "$file")
    warm=(wrk -d"$WARMUP" "${args[@]}")
    run=(wrk -d"$DURATION" "${args[@]}")
  fi
  wait_quiet
  if ((WARM_S > 0)); then
    log "warmup  $label: ${warm[*]}"
    timeout $((WARM_S + 60)) "${warm[@]}" > "$OUT/$label.warmup.txt" 2>&1 ||
      log "warmup $label: $tool exited with status $?"
  fi

  log "measure $label: ${run[*]}"
  ( while :; do mem_of "$server"; sleep 1; done ) > "$tmp/$label.mem" &
  SAMPLER_PID=$!
  local prof_pid=
  if [[ -n $DEBUG_PORT && $server == caresignal ]] && ((DUR_S > 2)); then  # all but the last second
    curl -s -o "$OUT/$label.cpu.prof" "http://$HOST:$DEBUG_PORT/debug/pprof/profile?seconds=$((DUR_S - 1))" &
    prof_pid=$!
  fi
  b0=$(sys_busy); s0=$(ticks_of $(server_pids "$server"))
  local TIMEFORMAT='%R %U %S'
  { time timeout $((DUR_S + 60)) "${run[@]}" > "$OUT/$label.txt" 2> "$OUT/$label.stderr.txt"; } \
    2> "$tmp/$label.wrkcpu" || rc=$?
  [[ -z $prof_pid ]] || wait "$prof_pid" || log "measure $label: the CPU profile could not be taken"
  b1=$(sys_busy); s1=$(ticks_of $(server_pids "$server"))
  read -r rss hwm n < <(mem_of "$server")            # at the end of the load run
  kill "$SAMPLER_PID" 2>/dev/null || true; wait "$SAMPLER_PID" 2>/dev/null || true; SAMPLER_PID=
  mx=$(awk -v r="$rss" '$1 > r {r = $1} END {print r}' "$tmp/$label.mem")
  cpu=$(tail -1 "$tmp/$label.wrkcpu")
  ((rc == 0)) || log "measure $label: $tool exited with status $rc"
  wrkjson=$(sed -n 's/^WRKJSON //p' "$OUT/$label.txt")
  [[ -n $wrkjson ]] || wrkjson=null
  # cpu = "wall user sys" of the client; the capacity is the wall time of the measured run x the CPUs
  OTHER_PCT=$(awk -v busy=$((b1 - b0)) -v srv=$((s1 - s0)) -v cpu="$cpu" -v tck="$TCK" -v ncpu="$NCPU" \
    'BEGIN { split(cpu, w, " "); printf "%d", 100 * (busy / tck - srv / tck - w[2] - w[3]) / (w[1] * ncpu) }')
  printf '{"kind":"load","label":"%s","server":"%s","body":"%s","client":"%s","offered_rps":%s,"conns":%d,"threads":%d,"attempt":%d,"noisy":%s,"wrk_rc":%d,"wrk":%s,' \
    "$label" "$server" "$body" "$tool" "$offered" "$c" "$t" "$attempt" "$( ((OTHER_PCT > NOISY_PCT)) && echo true || echo false)" \
    "$rc" "$wrkjson" >> "$METRICS"
  awk -v busy=$((b1 - b0)) -v srv=$((s1 - s0)) -v cpu="$cpu" -v tck="$TCK" -v ncpu="$NCPU" \
    'BEGIN { split(cpu, w, " "); wc = w[2] + w[3]
      printf "\"cpu\":{\"wall_s\":%.2f,\"server_s\":%.2f,\"wrk_s\":%.2f,\"other_s\":%.2f,\"capacity_s\":%.2f},", w[1], srv / tck, wc, busy / tck - srv / tck - wc, w[1] * ncpu }' >> "$METRICS"
  printf '"mem":{"rss_end_kb":%d,"rss_max_kb":%d,"hwm_kb":%d,"procs":%d}}\n' "$rss" "$mx" "$hwm" "$n" >> "$METRICS"
  grep -E 'Requests/sec|Non-2xx|Socket errors|Latency from|Send delay' "$OUT/$label.txt" | sed "s/^/    $label: /" >&2 || true
  log "    $label: server RSS at end ${rss} KiB ($n processes), peak HWM ${hwm} KiB; other processes used ${OTHER_PCT}% of the CPUs"
}

# load_run label server body conns url client [body-file]: measure, and measure again (up to
# ATTEMPTS times, while within BUDGET_S) when other processes disturbed the run.
load_run() {
  local label=$1 server=$2 body=$3 c=$4 url=$5 client=$6 file=${7:-} attempt
  for attempt in $(seq 1 "$ATTEMPTS"); do
    measure "$label.a$attempt" "$server" "$body" "$c" "$url" "$client" "$file" "$attempt"
    ((OTHER_PCT > NOISY_PCT)) || return 0
    if ((attempt < ATTEMPTS && SECONDS < BUDGET_S)); then
      log "    $label: disturbed (other processes ${OTHER_PCT}% > ${NOISY_PCT}%); measuring again"
    else
      log "    $label: disturbed (other processes ${OTHER_PCT}% > ${NOISY_PCT}%); kept, marked noisy"
      return 0
    fi
  done
}

# ---------------------------------------------------------------- the anchor (copy, data, model)
adir=$tmp/anchor
mkdir -p "$adir"
for f in app.py wsgi.py scoring.py gen_data.py train.py post.lua body_batch100.json Procfile; do
  cp "$ANCHOR_DIR/$f" "$adir/"
done
chmod u+w "$adir"/*
log "anchor: generate data and train the model in $adir"
(cd "$adir" && "$PY" gen_data.py > "$OUT/anchor_gen_data.txt" && "$PY" train.py > "$OUT/anchor_train.txt") ||
  die "anchor data/training failed (see $OUT/anchor_*.txt)"
grep -E 'rows=|fit_seconds' "$OUT/anchor_train.txt" >&2 || true

LUA_ANCHOR=$adir/post.lua
BATCH=$adir/body_batch100.json
SINGLE=$tmp/body_single.json
sed -n 's/^wrk.body = \[\[\(.*\)\]\]$/\1/p' "$LUA_ANCHOR" > "$SINGLE"
[[ -s $SINGLE ]] || die "could not read the single-patient body from post.lua"
cp "$SINGLE" "$OUT/body_single.json"
BATCH_N=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["instances"]))' "$BATCH")
# Like with like for batches: the anchor answers each patient's id, horizon, hazard, survival and
# expected months retained, so caresignal is asked for those outputs alone ("outputs" names them;
# the answer then carries per patient the patient_id and the outputs named).
BATCH_OUT=$OUT/body_batch100_outputs.json
"$PY" -c 'import json, sys
b = json.load(open(sys.argv[1]))
b["outputs"] = ["hazard", "survival", "expected_months"]
json.dump(b, open(sys.argv[2], "w"), separators=(",", ":"))' "$BATCH" "$BATCH_OUT" || die "could not make $BATCH_OUT"

# caresignal (and the floor) get the same script, plus the Authorization header when API_KEY is
# set; the key is read from the environment by wrk, so it is never written to a file.
LUA_CS=$LUA_ANCHOR
# In production mode (CS_FLAGS="--mode prod --trusted-proxy 127.0.0.1") the script makes the keys
# itself once the database exists; the header goes into the Lua script now, and wrk reads the key's
# value from the environment when it runs.
if [[ ${CS_FLAGS:-} == *"--mode prod"* && -z ${API_KEY:-} ]]; then
  API_KEY=pending
fi
if [[ -n ${API_KEY:-} ]]; then
  export API_KEY
  LUA_CS=$tmp/post_auth.lua
  awk '{print} /^wrk.headers\["Content-Type"\]/ {print "wrk.headers[\"Authorization\"] = \"Bearer \" .. os.getenv(\"API_KEY\")"}' \
    "$LUA_ANCHOR" > "$LUA_CS"
  grep -q Authorization "$LUA_CS" || die "could not add the Authorization header to post.lua"
fi

# ---------------------------------------------------------------- caresignal and the floor: build
log "build caresignal, the floor and the constant-rate client"
(cd "$root" && go build -o "$tmp/caresignal" ./cmd/caresignal && go build -o "$tmp/floor" ./scripts/loadbench/floor &&
  go build -o "$tmp/rate" ./scripts/loadbench/rate)
log "caresignal demo --no-serve (synthetic cohort, train, save the model)"
(cd "$tmp" && ./caresignal demo --no-serve --data-dir "$tmp/data" > "$OUT/caresignal_demo.txt" 2>&1) ||
  die "caresignal demo failed (see $OUT/caresignal_demo.txt)"
if [[ ${API_KEY:-} == pending ]]; then
  log "production mode: creating an admin key and a predict key for the load"
  "$tmp/caresignal" keys create --data-dir "$tmp/data" --role admin --name loadbench-admin > /dev/null 2>&1 ||
    die "could not create an admin key"
  API_KEY=$("$tmp/caresignal" keys create --data-dir "$tmp/data" --role predict --name loadbench 2>/dev/null) ||
    die "could not create a predict key"
  export API_KEY
fi

# ---------------------------------------------------------------- start the three servers
CS_URL=http://$HOST:$CS_PORT/api/engagement
FLOOR_URL=http://$HOST:$FLOOR_PORT/api/engagement
ANCHOR_URL=http://$HOST:$ANCHOR_PORT/api/engagement

start_server caresignal "http://$HOST:$CS_PORT/healthz" \
  env ${CS_ENV:-} "$tmp/caresignal" serve --data-dir "$tmp/data" --addr "$HOST:$CS_PORT" ${CS_FLAGS:-} \
  ${DEBUG_PORT:+--debug-addr "$HOST:$DEBUG_PORT"}
code=$(post "$CS_URL" "$SINGLE" "$OUT/response_caresignal_single.json") || true
[[ $code == 200 ]] || die "caresignal answered $code to the single-patient body: $(cat "$OUT/response_caresignal_single.json")"
# check_batch name body-file: can caresignal take this batch body?  Logs and records a refusal
# (the runs with that body are then skipped); dies on a wrong number of predictions.  Returns 0 if
# it answered 200.
check_batch() {
  local name=$1 file=$2 code got
  code=$(post "$CS_URL" "$file" "$OUT/response_caresignal_$name.json") || true
  if [[ $code != 200 ]]; then
    log "caresignal REJECTS $(basename "$file"): HTTP $code $(head -c 2000 "$OUT/response_caresignal_$name.json"); its batch run is skipped"
    printf '{"kind":"error","server":"caresignal","body":"%s","file":"%s","status":%s,"response":%s}\n' "$name" \
      "$(basename "$file")" "${code:-0}" \
      "$("$PY" -c 'import json, sys; print(json.dumps(open(sys.argv[1]).read()))' "$OUT/response_caresignal_$name.json")" >> "$METRICS"
    return 1
  fi
  got=$("$PY" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["predictions"]))' "$OUT/response_caresignal_$name.json")
  [[ $got == "$BATCH_N" ]] || die "caresignal answered $got predictions for $BATCH_N patients ($(basename "$file"))"
  log "caresignal's answer to $(basename "$file"): $(stat -c %s "$OUT/response_caresignal_$name.json") bytes"
}
CS_BATCH_OK=1 CS_BATCH_OUT_OK=1
check_batch batch100 "$BATCH" || CS_BATCH_OK=0
if check_batch batch100-outputs "$BATCH_OUT"; then
  # only patient_id and the outputs named (and warnings, for inputs the server had to change)
  extra=$("$PY" -c 'import json, sys
ok = {"patient_id", "hazard", "survival", "expected_months", "warnings"}
print(" ".join(sorted({k for p in json.load(open(sys.argv[1]))["predictions"] for k in p} - ok)))' \
    "$OUT/response_caresignal_batch100-outputs.json")
  if [[ -n $extra ]]; then
    log "caresignal's answer to $(basename "$BATCH_OUT") carries more than the outputs named: $extra (measured anyway)"
    printf '{"kind":"warning","server":"caresignal","body":"batch100-outputs","text":"the answer carries more than the outputs named: %s"}\n' \
      "$extra" >> "$METRICS"
  fi
else
  CS_BATCH_OUT_OK=0
fi
SINGLE_BYTES=$(stat -c %s "$OUT/response_caresignal_single.json")
log "caresignal's single-patient answer: $SINGLE_BYTES bytes; the floor serves exactly these bytes"

start_server floor "http://$HOST:$FLOOR_PORT/healthz" \
  "$tmp/floor" -addr "$HOST:$FLOOR_PORT" -body "$OUT/response_caresignal_single.json"
code=$(post "$FLOOR_URL" "$SINGLE" "$tmp/floor_check.json") || true
cmp -s "$tmp/floor_check.json" "$OUT/response_caresignal_single.json" || die "the floor's answer ($code) differs from caresignal's"

start_server anchor "http://$HOST:$ANCHOR_PORT/healthz" \
  "$PY" -m gunicorn --chdir "$adir" --workers "$WORKERS" --bind "$HOST:$ANCHOR_PORT" \
  --error-logfile "$tmp/logs/anchor.gunicorn.log" wsgi:app
code=$(post "$ANCHOR_URL" "$SINGLE" "$OUT/response_anchor_single.json") || true
[[ $code == 200 ]] || die "anchor answered $code to the single-patient body"
code=$(post "$ANCHOR_URL" "$BATCH" "$OUT/response_anchor_batch100.json") || true
[[ $code == 200 ]] || die "anchor answered $code to body_batch100.json"
log "the anchor's answer to body_batch100.json: $(stat -c %s "$OUT/response_anchor_batch100.json") bytes"
sleep 2   # let the gunicorn workers finish starting
for s in caresignal floor anchor; do record_mem "$s" idle; done

# ---------------------------------------------------------------- load: single patient, saturated
for r in $(seq 1 "$REPEATS"); do
  load_run "caresignal-single-c$CONNS-r$r" caresignal single "$CONNS" "$CS_URL" "$LUA_CS"
  load_run "floor-single-c$CONNS-r$r" floor single "$CONNS" "$FLOOR_URL" "$LUA_CS"
  load_run "anchor-single-c$CONNS-r$r" anchor single "$CONNS" "$ANCHOR_URL" "$LUA_ANCHOR"
done

# ---------------------------------------------------------------- load: single patient, fixed rate
# RATE_PCT % of caresignal's saturated req/s (the run the summary uses), offered to caresignal and to
# the floor alike; the anchor could not take it.
SAT_RPS=$("$PY" "$here/summarize.py" --batch-size "$BATCH_N" --saturated-rps caresignal "$OUT") || SAT_RPS=
RATE_RPS=${RATE:-}
if [[ -z $RATE_RPS && -n $SAT_RPS ]]; then
  RATE_RPS=$(awk -v r="$SAT_RPS" -v p="$RATE_PCT" 'BEGIN { printf "%d", r * p / 100 }')
fi
if [[ -n $RATE_RPS ]] && awk -v r="$RATE_RPS" 'BEGIN { exit !(r > 0) }'; then
  log "fixed rate: $RATE_RPS req/s (caresignal saturated: ${SAT_RPS:-n/a} req/s; RATE_PCT=$RATE_PCT${RATE:+, RATE=$RATE})"
  load_run "caresignal-single-at$RATE_RPS-c$RATE_CONNS" caresignal single "$RATE_CONNS" "$CS_URL" "rate=$RATE_RPS" "$SINGLE"
  load_run "floor-single-at$RATE_RPS-c$RATE_CONNS" floor single "$RATE_CONNS" "$FLOOR_URL" "rate=$RATE_RPS" "$SINGLE"
else
  log "no fixed-rate runs: caresignal's saturated req/s is unknown (see its single-patient run)"
fi

# ---------------------------------------------------------------- load: batches of 100
if ((CS_BATCH_OUT_OK)); then
  load_run "caresignal-batch100-outputs-c$BATCH_CONNS" caresignal batch100-outputs "$BATCH_CONNS" "$CS_URL" "$LUA_CS" "$BATCH_OUT"
fi
if ((CS_BATCH_OK && FULL_BATCH)); then
  load_run "caresignal-batch100-c$BATCH_CONNS" caresignal batch100 "$BATCH_CONNS" "$CS_URL" "$LUA_CS" "$BATCH"
fi
load_run "anchor-batch100-c$BATCH_CONNS" anchor batch100 "$BATCH_CONNS" "$ANCHOR_URL" "$LUA_ANCHOR" "$BATCH"
for s in caresignal floor anchor; do record_mem "$s" after-load; done

# ---------------------------------------------------------------- logs, stop, summary
for s in caresignal floor anchor; do stop_pid "${SPID[$s]}"; unset "SPID[$s]"; done
{
  echo "caresignal stderr: $(wc -l < "$tmp/logs/caresignal.err") lines; levels:"
  grep -o '"level":"[A-Z]*"' "$tmp/logs/caresignal.err" | sort | uniq -c || true
  echo "first lines:"; head -5 "$tmp/logs/caresignal.err"
  echo "non-INFO lines (first 20):"; grep -v '"level":"INFO"' "$tmp/logs/caresignal.err" | head -20 || true
} > "$OUT/caresignal_log.txt"
cp "$tmp/logs/anchor.gunicorn.log" "$OUT/anchor_gunicorn.log" 2>/dev/null || true
cp "$tmp/logs/floor.err" "$OUT/floor_log.txt" 2>/dev/null || true
echo "loadavg_at_end: $(cat /proc/loadavg)" | tee -a "$OUT/machine.txt"

"$PY" "$here/summarize.py" --batch-size "$BATCH_N" "$OUT"
log "results in $OUT"
