# shellcheck shell=bash
# Helpers shared by the test-server scripts in this directory.
# Sourced, not executed. Callers set `set -euo pipefail` themselves.

SERVERS_SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$SERVERS_SCRIPT_DIR/../.." && pwd)"
SERVERS_DIR="${RECSYNC_SERVERS_DIR:-$REPO_ROOT/.servers}"

log() { printf '[%s] %s\n' "${LOG_TAG:-servers}" "$*" >&2; }
die() { printf '[%s] error: %s\n' "${LOG_TAG:-servers}" "$*" >&2; exit 1; }

# Creates the state directory and keeps it out of version control.
ensure_servers_dir() {
    mkdir -p "$SERVERS_DIR"
    SERVERS_DIR="$(cd "$SERVERS_DIR" && pwd)"
    if [[ ! -e "$SERVERS_DIR/.gitignore" ]]; then
        printf '*\n' >"$SERVERS_DIR/.gitignore"
    fi
}

# Python used for helper scripts: the one on PATH (it has boto3/moto).
python_bin() {
    command -v python3 || die "python3 not found on PATH"
}

# Prints a TCP port on 127.0.0.1 that is free right now.
free_port() {
    "$(python_bin)" - <<'EOF'
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()
EOF
}

# proc_alive PID -> 0 if PID is a running (not zombie) process.
proc_alive() {
    local state
    kill -0 "$1" 2>/dev/null || return 1
    state="$(ps -o stat= -p "$1" 2>/dev/null || true)"
    [[ -n "$state" && "$state" != Z* ]]
}

# pid_alive PIDFILE -> 0 if the file names a running process.
pid_alive() {
    local pidfile="$1" pid
    [[ -s "$pidfile" ]] || return 1
    pid="$(cat "$pidfile")"
    [[ "$pid" =~ ^[0-9]+$ ]] || return 1
    proc_alive "$pid"
}

# pid_cmdline PID: the process's command line with spaces between arguments.
pid_cmdline() {
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null || true
}

# stop_pidfile PIDFILE [NAME] [TIMEOUT_SECONDS] [MATCH]
# Sends TERM to the process named in PIDFILE, waits, then KILL. Removes the
# file. With MATCH, the process is only signalled if its command line
# contains MATCH (guards against a stale pid file whose PID was reused).
stop_pidfile() {
    local pidfile="$1" name="${2:-$(basename "$1" .pid)}" timeout="${3:-15}" match="${4:-}" pid i
    [[ -e "$pidfile" ]] || return 0
    pid="$(cat "$pidfile" 2>/dev/null || true)"
    if [[ "$pid" =~ ^[0-9]+$ ]] && proc_alive "$pid"; then
        if [[ -n "$match" && "$(pid_cmdline "$pid")" != *"$match"* ]]; then
            log "pid $pid in $pidfile is not $name any more; not touching it"
            rm -f "$pidfile"
            return 0
        fi
        log "stopping $name (pid $pid)"
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < timeout * 10; i++)); do
            proc_alive "$pid" || break
            sleep 0.1
        done
        if proc_alive "$pid"; then
            log "$name (pid $pid) did not exit after ${timeout}s, sending KILL"
            kill -KILL "$pid" 2>/dev/null || true
            for ((i = 0; i < 50; i++)); do
                proc_alive "$pid" || break
                sleep 0.1
            done
        fi
        # Give init a moment to reap it so it vanishes from the process list.
        for ((i = 0; i < 30; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
    fi
    rm -f "$pidfile"
}

# start_bg PIDFILE LOGFILE CMD... : runs CMD detached in its own session,
# output to LOGFILE, and records its PID.
start_bg() {
    local pidfile="$1" logfile="$2"
    shift 2
    # In a non-interactive shell the background child is not a process-group
    # leader, so setsid(1) calls setsid() and execs without forking: $! stays
    # the daemon's PID.
    setsid "$@" </dev/null >>"$logfile" 2>&1 &
    echo "$!" >"$pidfile"
}

# tail_log FILE [LINES]: prints the end of a log for error reports.
tail_log() {
    local file="$1" lines="${2:-30}"
    if [[ -s "$file" ]]; then
        printf -- '----- last %s lines of %s -----\n' "$lines" "$file" >&2
        tail -n "$lines" "$file" >&2
        printf -- '-----\n' >&2
    else
        printf -- '(%s is empty or missing)\n' "$file" >&2
    fi
}

# print_env FILE: prints an env file, or fails if the server is not running.
print_env_file() {
    local file="$1"
    [[ -s "$file" ]] || die "$file not found: is the server started?"
    cat "$file"
}
