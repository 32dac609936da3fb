#!/usr/bin/env bash
# Run one command with the background training runs paused (python -m training.train
# ... --out runs/NAME: runs/main and any other the lead starts), so that timings
# measure this machine rather than the training. The training is ALWAYS resumed:
# on normal exit, on error, on Ctrl-C and on SIGTERM (trap), and even if this
# script is SIGKILLed or the command overruns: a detached watchdog sends SIGCONT
# when this script's process is gone or after QUIET_MAX_S seconds (default 170).
#
#   bench/quiet.sh .venv/bin/python -m bench --only models
#
# Keep each paused command short (< 3 minutes): the training runs are shared.
# Other sessions' processes (tests, browsers, trainings that tests start in /tmp)
# keep running. QUIET_PATTERN overrides which training command lines are paused.
set -u
max_s=${QUIET_MAX_S:-170}
pattern=${QUIET_PATTERN:-"training.train .*--out runs/"}
# Only python processes whose own command line is the training script: never this
# script, its parent shell or anything else that merely mentions the pattern.
pids=""
for pid in $(pgrep -f "$pattern" || true); do
    exe=$(tr '\0' ' ' < /proc/"$pid"/cmdline 2>/dev/null | cut -d' ' -f1-3)
    case "$exe" in
        *python*" -m training.train"|*python*" -u -m") pids="$pids $pid" ;;
    esac
done
pids=${pids# }
watchdog=""
resume() {
    if [ -n "$pids" ]; then
        # The watchdog goes first: left alive, it would wake up to a second after we exit and
        # resume the training in the middle of the next paused command.
        [ -n "$watchdog" ] && kill "$watchdog" 2>/dev/null
        kill -CONT $pids 2>/dev/null || true
        echo "quiet.sh: resumed training ($pids)" >&2
    fi
}
if [ -n "$pids" ]; then
    # Watchdog in its own session: survives a SIGKILL of this script's process group.
    setsid sh -c 'end=$(( $(date +%s) + $2 )); while kill -0 "$1" 2>/dev/null && [ "$(date +%s)" -lt "$end" ]; do sleep 1; done; kill -CONT $3 2>/dev/null' \
        quiet-watchdog "$$" "$max_s" "$pids" </dev/null >/dev/null 2>&1 &
    watchdog=$!  # no job control here: setsid needs no fork, so $! is the watchdog itself
    trap resume EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    kill -STOP $pids 2>/dev/null || true
    echo "quiet.sh: paused training ($pids) for at most ${max_s}s" >&2
fi
"$@"
