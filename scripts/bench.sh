#!/usr/bin/env bash
# Whole-process benchmarks: the release ssosync binary against the fake portal
# (a separate process, so its work is not counted), in temp HOMEs generated here.
# Prints a Markdown table; BENCHMARKS.md explains every row.
#
#   scripts/bench.sh                  # everything (about 4 minutes, plus the release build)
#   BENCH_QUICK=1 scripts/bench.sh    # fewer runs, no 100k files (about 3 minutes, plus the release build)
#   BENCH_ONLY=populate scripts/bench.sh   # only the populate rows (about 1.5 minutes)
#
# The last lines it prints say how long the run took, the build included.
#
# Knobs (environment): BENCH_RUNS (runs per fast scenario, default 40),
# BENCH_SIZES (big-file sizes, default "1000 10000 100000"), BENCH_LATENCY_MS
# (portal latency for the cold syncs, default 50), BENCH_THROTTLED (how many
# requests answer 429 in the count-based throttling rows, default "200"),
# BENCH_RATES (requests a second the portal admits in the rate-limited rows,
# default "500 200"),
# BENCH_POPULATE_RUNS (runs per populate row, default 3),
# BENCH_COLD_BUILD=1 (also time a release build from an empty target dir),
# BENCH_KEEP=1 (keep the temp dir).
#
# Needs bash, cargo, awk, sha1sum. Uses hyperfine when installed (apt-get install
# hyperfine), else a timing loop of its own; peak RSS needs /usr/bin/time (apt
# package `time`); strace and valgrind add the syscall and instruction checks.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

QUICK=${BENCH_QUICK:-0}
if [[ $QUICK == 1 ]]; then
    RUNS=${BENCH_RUNS:-10}
    read -r -a SIZES <<<"${BENCH_SIZES:-1000 10000}"
else
    RUNS=${BENCH_RUNS:-40}
    read -r -a SIZES <<<"${BENCH_SIZES:-1000 10000 100000}"
fi
SLOW_RUNS=$(((RUNS + 3) / 4 > 5 ? (RUNS + 3) / 4 : 5))
LATENCY_MS=${BENCH_LATENCY_MS:-50}
read -r -a THROTTLED <<<"${BENCH_THROTTLED:-200}"
read -r -a RATES <<<"${BENCH_RATES:-500 200}"
DEFAULT_CONCURRENCY=64 # ssosync's --concurrency default

say() { printf '%s\n' "$*" >&2; }
die() {
    say "bench: $*"
    exit 1
}
have() { command -v "$1" >/dev/null 2>&1; }
seconds_since() { awk -v a="${1/,/.}" -v b="${EPOCHREALTIME/,/.}" 'BEGIN { printf "%.1f", b - a }'; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
RUN_START=$EPOCHREALTIME

# ---------------------------------------------------------------- build
say "building (release)..."
build_start=$EPOCHREALTIME
cargo build --release --locked -p ssosync -p fake-portal >&2
build_secs=$(seconds_since "$build_start")
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
BIN=$TARGET_DIR/release/ssosync
PORTAL_BIN=$TARGET_DIR/release/fake-portal
[[ -x $BIN && -x $PORTAL_BIN ]] || die "release binaries not found under $TARGET_DIR"

cold_build=""
if [[ ${BENCH_COLD_BUILD:-0} == 1 ]]; then
    say "cold release build in an empty target dir (takes minutes)..."
    cold_dir=$(mktemp -d "${TMPDIR:-/tmp}/ssosync-cold-build.XXXXXX")
    s=$EPOCHREALTIME
    CARGO_TARGET_DIR=$cold_dir cargo build --release --locked -p ssosync >&2
    cold_build=$(seconds_since "$s")
    rm -rf "$cold_dir"
fi

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ssosync-bench.XXXXXX")
PORTAL_PIDS=()
cleanup() {
    local pid
    for pid in "${PORTAL_PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    if [[ ${BENCH_KEEP:-0} != 1 ]]; then rm -rf "$WORK"; else say "kept $WORK"; fi
}
trap cleanup EXIT

# ---------------------------------------------------------------- fake portals
# Each portal reads commands from a FIFO (kept open by this shell on a fixed fd)
# and answers into a log file, so `count`, `reset` and `fail` work from here.
SESSIONS=(s0 s1 s2)
REGIONS=(eu-west-1 us-east-1 ap-southeast-2)
ACCOUNTS=1000
portal_args=()
for s in "${SESSIONS[@]}"; do portal_args+=(--token "tok-$s"); done
for ((a = 0; a < ACCOUNTS; a++)); do portal_args+=(--grant "$(printf '1%011d' "$a"):Dev"); done

# start_portal NAME LATENCY_MS FD [ARGS...]: sets PORTAL_URL_<NAME>. The portal
# grants what ARGS say, else the 1,000 accounts of the sync rows.
start_portal() {
    local name=$1 latency=$2 fd=$3 fifo=$WORK/portal-$1.in log=$WORK/portal-$1.out
    shift 3
    local -a grants=("$@")
    ((${#grants[@]})) || grants=("${portal_args[@]}")
    mkfifo "$fifo"
    "$PORTAL_BIN" --latency-ms "$latency" --ttl-secs 43200 "${grants[@]}" \
        <"$fifo" >"$log" 2>"$WORK/portal-$name.err" &
    PORTAL_PIDS+=($!)
    eval "exec $fd>\"\$fifo\""
    local i url=""
    for ((i = 0; i < 500; i++)); do
        url=$(sed -n 's/^listening on //p' "$log")
        [[ -n $url ]] && break
        sleep 0.01
    done
    [[ -n $url ]] || die "fake portal $name did not start: $(cat "$WORK/portal-$name.err")"
    printf -v "PORTAL_URL_$name" '%s' "$url"
}

# portal_cmd NAME COMMAND: prints the portal's one-line answer.
portal_cmd() {
    local log=$WORK/portal-$1.out before i
    before=$(wc -l <"$log")
    printf '%s\n' "$2" >"$WORK/portal-$1.in"
    for ((i = 0; i < 500; i++)); do
        if (($(wc -l <"$log") > before)); then
            tail -n 1 "$log"
            return
        fi
        sleep 0.01
    done
    die "fake portal $1 did not answer $2"
}

ONLY=${BENCH_ONLY:-}
if [[ $ONLY != populate ]]; then
    start_portal slow "$LATENCY_MS" 7
    start_portal fast 0 8
fi

# ---------------------------------------------------------------- homes
FAR=2099-01-01T00:00:00Z
PAST=2020-01-01T00:00:00Z

# make_home DIR PROFILES: a config with 3 sso-sessions (3 regions) and PROFILES
# profiles, a cached token per session, and credential files: creds.fresh (every
# entry fresh), creds.stale (every entry expired).
make_home() {
    local dir=$1 n=$2 i s
    mkdir -p "$dir/.aws/sso/cache"
    for i in "${!SESSIONS[@]}"; do
        s=${SESSIONS[$i]}
        printf '{"startUrl": "https://%s.awsapps.com/start", "region": "%s", "accessToken": "tok-%s", "expiresAt": "%s"}' \
            "$s" "${REGIONS[$i]}" "$s" "$FAR" \
            >"$dir/.aws/sso/cache/$(printf '%s' "$s" | sha1sum | cut -c1-40).json"
    done
    awk -v n="$n" -v accounts="$ACCOUNTS" -v regions="${REGIONS[*]}" 'BEGIN {
        split(regions, region, " ")
        for (s = 0; s < 3; s++)
            printf "[sso-session s%d]\nsso_start_url = https://s%d.awsapps.com/start\nsso_region = %s\nsso_registration_scopes = sso:account:access\n\n", s, s, region[s + 1]
        for (i = 0; i < n; i++)
            printf "[profile p%d]\nsso_session = s%d\nsso_account_id = 1%011d\nsso_role_name = Dev\nregion = us-east-1\noutput = json\n\n", i, i % 3, i % accounts
    }' >"$dir/.aws/config"
    local when
    for when in fresh stale; do
        # Entries as ssosync writes them, with the fake portal's value lengths.
        awk -v n="$n" -v expiry="$([[ $when == fresh ]] && echo "$FAR" || echo "$PAST")" 'BEGIN {
            token = "FakeSessionToken"
            while (length(token) < 316) token = token "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789+/"
            token = substr(token, 1, 316)
            for (i = 0; i < n; i++)
                printf "[p%d]\naws_access_key_id = ASIABENCH%07d\naws_secret_access_key = fakeSecret%030d\naws_session_token = %s\naws_security_token = %s\naws_credential_expiration = %s\n\n", i, i, i, token, token, expiry
        }' >"$dir/creds.$when"
    done
    cp "$dir/creds.fresh" "$dir/.aws/credentials"
}

# ---------------------------------------------------------------- timing
# The environment a run gets: nothing from ours but PATH.
env_for() { # HOME PORTAL_URL
    printf '%s\n' env -i "HOME=$1" "PATH=$PATH" "TZ=UTC" \
        "AWS_ENDPOINT_URL_SSO=$2" "AWS_ENDPOINT_URL_SSO_OIDC=$2" "AWS_ENDPOINT_URL_STS=$2"
}

# ms_of JSON FIELD: a hyperfine statistic in milliseconds.
ms_of() {
    tr -d ' \n' <"$1" | sed -n "s/.*\"$2\":\\([0-9.e+-]*\\).*/\\1/p" | awk '{ printf "%.2f", $1 * 1000 }'
}

# time_cmd RUNS PREPARE -- COMMAND...: sets MEDIAN and MIN (ms) and TIMED (runs
# done, warm-ups included). PREPARE (a simple command) runs untimed before each
# run. The command runs in the environment RUN_ENV (`env -i` and VAR=VALUE words,
# as env_for prints them) when that is set, else in ours. The timer itself runs
# in that environment, so the timed process is the command alone, not an `env`
# in front of it (an exec that costs about as much as ssosync's no-op run).
RUN_ENV=()
time_cmd() {
    local runs=$1 prepare=$2
    shift 3
    if have hyperfine; then
        local json=$WORK/hyperfine.json
        local -a prep=()
        [[ -n $prepare ]] && prep=(--prepare "$prepare")
        "${RUN_ENV[@]}" hyperfine -N --style none --warmup 3 --runs "$runs" "${prep[@]}" \
            --export-json "$json" -- "$(printf '%q ' "$@")" >/dev/null 2>"$WORK/hyperfine.err" ||
            die "hyperfine failed on $*: $(cat "$WORK/hyperfine.err")"
        MEDIAN=$(ms_of "$json" median)
        MIN=$(ms_of "$json" min)
    else
        local stats
        stats=$(
            if ((${#RUN_ENV[@]})); then
                for v in $(compgen -e); do unset "$v" 2>/dev/null || true; done
                export "${RUN_ENV[@]:2}"
            fi
            times=()
            for ((i = 0; i < runs + 3; i++)); do
                if [[ -n $prepare ]]; then $prepare; fi
                s=$EPOCHREALTIME
                "$@" >/dev/null 2>&1 || exit 1
                e=$EPOCHREALTIME
                ((i < 3)) || times+=($((10#${e//[.,]/} - 10#${s//[.,]/})))
            done
            printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.2f %.2f", m / 1000, a[1] / 1000 }'
        ) || die "$* failed"
        read -r MEDIAN MIN <<<"$stats"
    fi
    TIMED=$((runs + 3))
}

# time_sync HOME PORTAL RUNS PREPARE -- ARGS...: times `ssosync ARGS` and counts the
# portal requests over all runs; sets MEDIAN, MIN and PER_RUN (requests per run).
time_sync() {
    local home=$1 portal=$2 runs=$3 prepare=$4
    shift 5
    local url_var=PORTAL_URL_$portal
    mapfile -t RUN_ENV < <(env_for "$home" "${!url_var}")
    portal_cmd "$portal" reset >/dev/null
    time_cmd "$runs" "$prepare" -- "$BIN" "$@"
    RUN_ENV=()
    local count
    count=$(portal_cmd "$portal" count)
    PER_RUN=$(awk -v c="$count" -v r="$TIMED" 'BEGIN { printf "%g", c / r }')
}

# run_once HOME PORTAL ARGS...: runs ssosync once; output in $WORK/out, $WORK/err.
run_once() {
    local home=$1 portal=$2
    shift 2
    local url_var=PORTAL_URL_$portal
    local -a envcmd
    mapfile -t envcmd < <(env_for "$home" "${!url_var}")
    "${envcmd[@]}" "$BIN" "$@" >"$WORK/out" 2>"$WORK/err"
}

# peak_rss HOME PORTAL PREPARE ARGS...: median peak RSS (MiB) over 5 runs.
peak_rss() {
    local home=$1 portal=$2 prepare=$3
    shift 3
    if [[ ! -x /usr/bin/time ]]; then
        echo "n/a (no /usr/bin/time)"
        return
    fi
    local url_var=PORTAL_URL_$portal
    local -a envcmd
    mapfile -t envcmd < <(env_for "$home" "${!url_var}")
    local i kb=()
    for ((i = 0; i < 5; i++)); do
        if [[ -n $prepare ]]; then $prepare; fi
        "${envcmd[@]}" /usr/bin/time -f '%M' -o "$WORK/rss" "$BIN" "$@" >/dev/null 2>&1 ||
            die "ssosync $* failed"
        kb+=("$(tail -n 1 "$WORK/rss")")
    done
    printf '%s\n' "${kb[@]}" | sort -n | sed -n 3p | awk '{ printf "%.1f MiB", $1 / 1024 }'
}

ROWS=()
row() { ROWS+=("| $1 | $2 | $3 | $4 | $5 |"); }

# print_report: the machine, the load, and the table of every row.
print_report() {
    cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)
    mem=$(awk '/MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo)
    timer=$(if have hyperfine; then hyperfine --version; else echo "own timing loop (bash EPOCHREALTIME)"; fi)
    echo
    echo "Machine: $(nproc) × $cpu, $mem RAM, $(uname -sr); $timer"
    echo "Load average: $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end"
    echo "Runs: ${NOOP_RUNS:-0} for the no-op rows, $RUNS per other fast scenario, $SLOW_RUNS per slow one (3 warm-ups each), $POPULATE_RUNS per populate row; medians; portal latency $LATENCY_MS ms for the cold syncs and populate"
    echo "This run took $(seconds_since "$RUN_START") s (the release build included: $build_secs s)"
    echo
    echo "| scenario | measured (median) | target | physical limit / reference | notes |"
    echo "|---|---|---|---|---|"
    printf '%s\n' "${ROWS[@]}"
}

# ---------------------------------------------------------------- 6: populate
# populate_row ACCOUNTS ROLES RATE FD: `ssosync populate` of a sign-in reaching
# ACCOUNTS accounts × ROLES roles, against a portal (latency as the cold syncs)
# admitting RATE requests a second (a token bucket, full at the start of each
# run), into a config holding only the sso-session; checked: exit 0, no error,
# every profile written.
POPULATE_RUNS=${BENCH_POPULATE_RUNS:-3}
populate_row() {
    local accounts=$1 roles=$2 rate=$3 fd=$4 name=pop$1 i s e code
    start_portal "$name" "$LATENCY_MS" "$fd" --token tok-s0 --generate "$accounts:$roles"
    local home=$WORK/home-$name
    mkdir -p "$home/.aws/sso/cache"
    printf '{"startUrl": "https://s0.awsapps.com/start", "region": "eu-west-1", "accessToken": "tok-s0", "expiresAt": "%s"}' "$FAR" \
        >"$home/.aws/sso/cache/$(printf s0 | sha1sum | cut -c1-40).json"
    printf '# bench\n[sso-session s0]\nsso_start_url = https://s0.awsapps.com/start\nsso_region = eu-west-1\n' >"$home/config.empty"
    local url_var=PORTAL_URL_$name times=() sent="" json_requests="" throttled="" profiles=0 errors=""
    for ((i = 0; i < POPULATE_RUNS; i++)); do
        cp "$home/config.empty" "$home/.aws/config"
        portal_cmd "$name" reset >/dev/null
        portal_cmd "$name" "limit $rate" >/dev/null
        s=$EPOCHREALTIME
        code=0
        run_once "$home" "$name" populate --json || code=$?
        e=$EPOCHREALTIME
        times+=($((10#${e//[.,]/} - 10#${s//[.,]/})))
        ((code == 0)) || die "populate of $accounts accounts exited $code: $(head -c 2000 "$WORK/err")"
        errors=$(tr -d '\n' <"$WORK/out" | sed -n 's/.*"errors":\[\([^]]*\)\].*/\1/p')
        [[ -z $errors ]] || die "populate of $accounts accounts reported errors: $errors"
        profiles=$(grep -c '^ssosync_populated_from = s0$' "$home/.aws/config" || true)
        ((profiles == accounts * roles)) || die "populate wrote $profiles profiles, not $((accounts * roles))"
        sent=$(portal_cmd "$name" count)
        json_requests=$(sed -n 's/.*"requests":\([0-9]*\).*/\1/p' "$WORK/out")
        throttled=$(sed -n 's/.*"throttled":\([0-9]*\).*/\1/p' "$WORK/out")
    done
    portal_cmd "$name" "limit 0" >/dev/null
    # The calls a listing needs: the account pages (100 a page) and one role page
    # per account (ROLES ≤ 100).
    local needed=$(((accounts + 99) / 100 + accounts))
    local floor target median best
    floor=$(awk -v n="$needed" -v r="$rate" 'BEGIN { printf "%.2f", n / r }')
    target=$(awk -v f="$floor" 'BEGIN { printf "%.2f", f * 1.15 }')
    median=$(printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { printf "%.2f", a[int((NR + 1) / 2)] / 1e6 }')
    best=$(printf '%s\n' "${times[@]}" | sort -n | head -n 1 | awk '{ printf "%.2f", $1 / 1e6 }')
    local verdict="met"
    awk -v m="$median" -v t="$target" 'BEGIN { exit !(m <= t) }' || verdict="**missed**"
    row "6. populate: $accounts accounts × $roles roles, portal admits $rate requests/s, ${LATENCY_MS} ms per response" \
        "**$median s** (min $best)" "≤ 1.15 × floor = $target s ($verdict)" \
        "floor = $needed requests / $rate per s = $floor s (the bucket's first second of burst makes $(awk -v n="$needed" -v r="$rate" 'BEGIN { printf "%.2f", (n - r) / r }') s possible)" \
        "$profiles profiles written, exit 0, 0 errors; last run: $json_requests requests ($throttled answered 429, each asked again), $sent seen by the portal"
}
populate_rows() {
    say "6. populate, 2,000 accounts × 3 roles at 200 requests/s..."
    populate_row 2000 3 200 9
    say "6. populate, 300 accounts × 3 roles at 20 requests/s..."
    populate_row 300 3 20 10
}
if [[ $ONLY == populate ]]; then
    populate_rows
    print_report
    exit 0
fi

# ---------------------------------------------------------------- 1: no-op
say "1. no-op, 100 profiles..."
H100=$WORK/home-100
make_home "$H100" 100
# Many runs: a few milliseconds each, and the median should not move with a burst
# of load from elsewhere.
NOOP_RUNS=$((RUNS * 5))
time_sync "$H100" fast "$NOOP_RUNS" "" -- -q
noop=$MEDIAN noop_min=$MIN noop_requests=$PER_RUN
run_once "$H100" fast || die "no-op run failed: $(cat "$WORK/err")"
fresh=$(grep -c ' fresh ' "$WORK/out" || true)
[[ $fresh == 100 ]] || die "the no-op run reported $fresh fresh entries, not 100"
time_sync "$H100" fast "$NOOP_RUNS" "" --
noop_table=$MEDIAN
floor="n/a"
if have hyperfine; then
    time_cmd "$NOOP_RUNS" "" -- cat "$H100/.aws/config" "$H100/.aws/credentials"
    floor="$MEDIAN ms"
    time_cmd "$NOOP_RUNS" "" -- "$BIN" --version
    floor+="; \`ssosync --version\`: $MEDIAN ms"
fi
syscalls=""
if have strace; then
    mapfile -t envcmd < <(env_for "$H100" "$PORTAL_URL_fast")
    "${envcmd[@]}" strace -f -qq -e trace=socket,connect,epoll_create1,clone,clone3 \
        -o "$WORK/strace" "$BIN" -q >/dev/null 2>&1
    syscalls="; $(grep -c . "$WORK/strace" || true) socket/connect/epoll_create1/clone calls (strace)"
fi
instructions=""
if have valgrind; then
    mapfile -t envcmd < <(env_for "$H100" "$PORTAL_URL_fast")
    instructions=$("${envcmd[@]}" valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" -q 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p' | awk '{ printf "; %.2fM instructions (callgrind)", $1 / 1e6 }')
fi
row "1. no-op: 100 profiles, 3 sessions, all fresh (\`ssosync -q\`)" "**$noop ms** (min $noop_min)" \
    "≤ 3 ms, 0 requests" "\`cat\` of the same two files: $floor" \
    "$noop_requests requests per run$syscalls$instructions; printing the table too: $noop_table ms"

# ---------------------------------------------------------------- 2: cold syncs
waves() { echo $(((($1) + ($2) - 1) / ($2))); }
say "2. cold syncs, 100 profiles..."
time_sync "$H100" slow "$SLOW_RUNS" "cp $H100/creds.stale $H100/.aws/credentials" -- -q
cold_notes="$PER_RUN requests per run"
if have strace; then
    # One token read per sign-in: count the opens of token cache files.
    cp "$H100/creds.stale" "$H100/.aws/credentials"
    mapfile -t envcmd < <(env_for "$H100" "$PORTAL_URL_slow")
    "${envcmd[@]}" strace -f -qq -e trace=openat -o "$WORK/strace" "$BIN" -q >/dev/null 2>&1
    cold_notes+="; $(grep -c 'sso/cache/[0-9a-f]*\.json' "$WORK/strace" || true) token files opened (strace)"
fi
row "2a. cold: 100 profiles, 3 sessions, all stale, ${LATENCY_MS} ms per response, default concurrency ($DEFAULT_CONCURRENCY)" \
    "**$MEDIAN ms** (min $MIN)" "≤ 250 ms" \
    "latency × ⌈100/$DEFAULT_CONCURRENCY⌉ = $((LATENCY_MS * $(waves 100 "$DEFAULT_CONCURRENCY"))) ms" "$cold_notes"
time_sync "$H100" slow "$SLOW_RUNS" "cp $H100/creds.stale $H100/.aws/credentials" -- -q --concurrency 100
row "2a. same, \`--concurrency 100\`" "**$MEDIAN ms** (min $MIN)" "≤ 250 ms" \
    "latency × 1 = $LATENCY_MS ms" "$PER_RUN requests per run"

say "2. cold syncs, 1,000 profiles..."
H1000=$WORK/home-1000
make_home "$H1000" 1000
for c in "$DEFAULT_CONCURRENCY" 32 128; do
    time_sync "$H1000" slow "$SLOW_RUNS" "cp $H1000/creds.stale $H1000/.aws/credentials" -- -q --concurrency "$c"
    label="\`--concurrency $c\`"
    [[ $c == "$DEFAULT_CONCURRENCY" ]] && label="default concurrency ($DEFAULT_CONCURRENCY)"
    row "2b. cold: 1,000 profiles, all stale, $label" "**$MEDIAN ms** (min $MIN)" "≤ 1000 ms" \
        "latency × ⌈1000/$c⌉ = $((LATENCY_MS * $(waves 1000 "$c"))) ms" "$PER_RUN requests per run"
done
cp "$H1000/creds.stale" "$H1000/.aws/credentials"
run_once "$H1000" slow -q || die "cold 1,000 run failed: $(cat "$WORK/err")"
sections=$(grep -c '^\[p' "$H1000/.aws/credentials")
[[ $sections == 1000 ]] || die "after a cold sync the credentials file has $sections sections, not 1000"
grep -q "$PAST" "$H1000/.aws/credentials" && die "a stale entry survived the cold sync"

say "2. throttled cold syncs, 1,000 profiles..."
# throttled_row LABEL LIMIT SETUP: 3 cold syncs of the 1,000 profiles with the slow
# portal set up by SETUP (a portal command), then a row.
throttled_row() {
    local label=$1 limit=$2 setup=$3 i s e code
    local t_times=() t_req="" t_failed=0 t_exit=0 t_warning=""
    for ((i = 0; i < 3; i++)); do
        cp "$H1000/creds.stale" "$H1000/.aws/credentials"
        portal_cmd slow reset >/dev/null
        portal_cmd slow "$setup" >/dev/null
        s=$EPOCHREALTIME
        code=0
        run_once "$H1000" slow || code=$?
        e=$EPOCHREALTIME
        t_times+=($((10#${e//[.,]/} - 10#${s//[.,]/})))
        t_req=$(portal_cmd slow count)
        t_exit=$code
        t_failed=$(grep -c 'throttling requests' "$WORK/err" || true)
        t_warning=$(sed -n 's/^ssosync: warning: the portal throttled requests: //p' "$WORK/err")
    done
    portal_cmd slow "limit 0" >/dev/null
    local t_median t_max
    t_median=$(printf '%s\n' "${t_times[@]}" | sort -n | sed -n 2p | awk '{ printf "%.0f", $1 / 1000 }')
    t_max=$(printf '%s\n' "${t_times[@]}" | sort -n | tail -n 1 | awk '{ printf "%.0f", $1 / 1000 }')
    row "2c. throttled: 1,000 profiles, $label, default concurrency" \
        "**$t_median ms** (max $t_max)" "429s retried with backoff; total time reported" \
        "$limit" \
        "last run: $t_req requests, exit $t_exit, $t_failed profiles still throttled at the end; ${t_warning:-no profile needed a second round}"
}
for k in "${THROTTLED[@]}"; do
    throttled_row "the first $k requests answered 429" \
        "2b + the SDK's jittered backoff (up to 1 s, then 2 s) + ssosync's pause before a second round (0.5 s)" \
        "fail $k 429 TooManyRequestsException"
done
for r in "${RATES[@]}"; do
    # The bucket starts full: r requests pass at once, the rest at r a second.
    throttled_row "the portal admits $r requests/s (token bucket), 429 beyond" \
        "(1000 − $r) / $r s + latency = $(((1000 - r) * 1000 / r + LATENCY_MS)) ms at the admitted rate" "limit $r"
done

say "4. peak RSS..."
rss=$(peak_rss "$H1000" slow "cp $H1000/creds.stale $H1000/.aws/credentials" -q)
rss32=$(peak_rss "$H1000" slow "cp $H1000/creds.stale $H1000/.aws/credentials" -q --concurrency 32)
rss128=$(peak_rss "$H1000" slow "cp $H1000/creds.stale $H1000/.aws/credentials" -q --concurrency 128)
rss_noop=$(peak_rss "$H100" fast "" -q)
row "4. peak RSS: cold sync of 1,000 profiles, default concurrency ($DEFAULT_CONCURRENCY)" "**$rss**" "≤ 20 MB" \
    "no-op run (100 profiles): $rss_noop" "\`--concurrency 32\`: $rss32, \`--concurrency 128\`: $rss128; max RSS from \`/usr/bin/time -f %M\`, median of 5"

# ---------------------------------------------------------------- 3: big files
for n in "${SIZES[@]}"; do
    say "3. big files, $n profiles..."
    H=$WORK/home-$n
    make_home "$H" "$n"
    creds_size=$(du -k "$H/creds.fresh" | awk '{ printf "%.1f MB", $1 / 1024 }')
    config_size=$(du -k "$H/.aws/config" | awk '{ printf "%.1f MB", $1 / 1024 }')
    runs=$RUNS
    ((n >= 100000)) && runs=$SLOW_RUNS
    # Rotate the middle profile (--force: its entry is fresh, so every run
    # fetches and rewrites it without a copy step between runs).
    time_sync "$H" fast "$runs" "" -- -q --force -p "p$((n / 2))"
    one=$MEDIAN one_min=$MIN one_req=$PER_RUN
    time_sync "$H" fast "$runs" "" -- -q
    noop_big=$MEDIAN
    # The floor: copying the file durably (read, write, fsync, rename over).
    floor="n/a"
    if have hyperfine; then
        time_cmd "$runs" "" -- sh -c "dd if=$H/creds.fresh of=$H/.aws/floor.tmp bs=4M conv=fsync status=none && mv $H/.aws/floor.tmp $H/.aws/floor"
        floor="$MEDIAN ms"
    fi
    target="linear growth"
    [[ $n == 10000 ]] && target="≤ 25 ms (sync one)"
    row "3. big files: $n profiles (config $config_size), $n sections (credentials $creds_size)" \
        "sync one: **$one ms** (min $one_min); no-op over all: $noop_big ms" "$target" \
        "durable copy of the credentials file (dd conv=fsync + mv): $floor" "$one_req request per sync-one run"
done

# ---------------------------------------------------------------- 5: binary
bin_size=$(stat -c %s "$BIN" | awk '{ printf "%.2f MiB (%d bytes)", $1 / 1048576, $1 }')
row "5. release binary size" "**$bin_size**" "reported" "" "stripped, thin LTO, panic=abort, codegen-units=4"
if [[ -n $cold_build ]]; then
    row "5. cold release build" "**$cold_build s**" "reported" "" "\`cargo build --release --locked -p ssosync\` into an empty target dir, $(nproc) cores"
else
    row "5. release build (this run)" "$build_secs s" "reported" "" "incremental; BENCH_COLD_BUILD=1 times a build from an empty target dir"
fi

populate_rows

# ---------------------------------------------------------------- report
print_report
