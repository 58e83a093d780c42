#!/usr/bin/env bash
# The clock sweep: run the tests at the hours and on the days that catch date bugs (issue 11).
#
#   tests/clock-sweep.sh            every run below, one at a time
#   tests/clock-sweep.sh -j 2       two runs at once (each run is one process; see below)
#   tests/clock-sweep.sh hours      only the whole suite at 00:05 and 23:55 UTC (the browser
#                                   tests with the tests' clock and TZ, not libfaketime)
#   tests/clock-sweep.sh dates      only the date-handling modules on the awkward days
#   SWEEP_ONLY="leap-day-2028" tests/clock-sweep.sh    only the runs named
#
# Two clocks are moved. The machine's, with libfaketime (Debian's `faketime`), in every run:
# anything that still read the wall clock behind the app's back would see the odd hour. And, in
# the date runs, the test clock (CONTINUUM_TEST_NOW, tests/support/clock.py) that the app under
# test, its desks and its command line read, set to the same instant, so the service's own idea
# of "today" is the awkward day too.
#
# pytest-xdist's workers hang under libfaketime, so every run here is a single process, bounded
# by `timeout` (the monotonic clock is faked too: with FAKETIME_DONT_FAKE_MONOTONIC, Python's
# time.sleep fails with EINVAL); pytest may also not exit after its summary (PostgreSQL teardown under a faked
# clock), so a run is judged by its summary line, not its exit status. Logs stay in
# $SWEEP_LOGS (a new temporary directory by default); the table at the end is the result.
set -uo pipefail

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/.."

jobs=1
if [[ ${1:-} == -j ]]; then
    jobs=${2:?-j needs a number}
    shift 2
fi
which=${1:-all}

command -v faketime >/dev/null || { echo "needs faketime (apt-get install faketime)" >&2; exit 2; }
export UV_PYTHON_DOWNLOADS=never
# uv installed with `pip install --user` (as .ci/run does) lives here.
export PATH="$(python3 -m site --user-base 2>/dev/null || echo "${HOME}/.local")/bin:${PATH}"
uv sync --frozen --quiet || exit 2
python=.venv/bin/python
logs=${SWEEP_LOGS:-$(mktemp -d /tmp/clock-sweep.XXXXXX)}
mkdir -p "${logs}"

# The modules that handle dates: transfers (offer lapse, steps), consents (validity, expiry),
# quarter locks and releases (the quarter a day falls in), sessions and tokens (timeouts,
# TOTP steps), the demo (--today, published quarters), imports and the outbox.
DATE_MODULES=(
    tests/unit
    tests/integration/test_transfer_*.py
    tests/integration/test_web_transfers.py
    tests/integration/test_api_transfers.py
    tests/integration/test_quarter_locks.py
    tests/integration/test_releases.py
    tests/integration/test_web_releases.py
    tests/integration/test_api_releases.py
    tests/integration/test_cli_releases.py
    tests/integration/test_release_one_family.py
    tests/integration/test_dashboard.py
    tests/integration/test_demo_releases.py
    tests/integration/test_demo_transfers.py
    tests/integration/test_reference_and_demo.py
    tests/integration/test_sign_in.py
    tests/integration/test_password_change.py
    tests/integration/test_api_tokens.py
    tests/integration/test_oauth.py
    tests/integration/test_web_casework.py
    tests/integration/test_casework_services.py
    tests/integration/test_import.py
    tests/integration/test_movements.py
    tests/integration/test_outbox.py
    tests/postgres/test_transfer_concurrency.py
)

runs=()  # name|TZ|instant (UTC)|scope
today=$(date -u +%F)
if [[ ${which} == all || ${which} == hours ]]; then
    # London is on UTC in winter and an hour ahead in summer; at 23:55 UTC Kiritimati (UTC+14)
    # is already on the next day, so a machine-local date would be a day off.
    runs+=("suite-0005|Europe/London|${today}T00:05:00Z|suite")
    runs+=("suite-2355|Pacific/Kiritimati|${today}T23:55:00Z|suite")
    runs+=("browser-2355|Pacific/Kiritimati|${today}T23:55:00Z|browser")
fi
if [[ ${which} == all || ${which} == dates ]]; then
    # The last minute of a quarter, in UTC and (an hour ahead, BST) in London.
    runs+=("quarter-end|Europe/London|2026-09-30T23:55:00Z|dates")
    runs+=("leap-day-2028|UTC|2028-02-29T23:55:00Z|dates")
    # BST starts at 01:00 UTC on 29 March 2026 and ends at 01:00 UTC on 25 October 2026.
    runs+=("clocks-forward|Europe/London|2026-03-29T00:30:00Z|dates")
    runs+=("clocks-back|Europe/London|2026-10-25T00:30:00Z|dates")
    # At 23:55 UTC on 30 June, Kiritimati's local date is already 1 July, the next quarter.
    runs+=("kiritimati|Pacific/Kiritimati|2026-06-30T23:55:00Z|dates")
fi
# SWEEP_ONLY="leap-day-2028 kiritimati" keeps only the runs named.
if [[ -n ${SWEEP_ONLY:-} ]]; then
    kept=()
    for run in "${runs[@]}"; do
        [[ " ${SWEEP_ONLY} " == *" ${run%%|*} "* ]] && kept+=("${run}")
    done
    runs=("${kept[@]}")
fi
((${#runs[@]} > 0)) || { echo "usage: $0 [-j N] [all|hours|dates]" >&2; exit 2; }

one_run() {
    local name=$1 zone=$2 instant=$3 scope=$4 targets offset limit test_now
    if [[ ${scope} == suite ]]; then
        # The whole suite with the machine's clock moved only: the tests' own clock stays on its
        # fixed default, so what would fail is a wall-clock read left somewhere.
        targets=(tests --ignore=tests/browser)
        limit=5400
        test_now=
    elif [[ ${scope} == browser ]]; then
        # Chromium and Playwright's driver keep their own timers, which libfaketime starves
        # (each test waits out its timeouts), so the browser tests move the tests' clock and
        # the zone only; the app they drive reads the tests' clock like every other.
        targets=(tests/browser)
        limit=1800
        test_now=${instant}
    else
        # The date modules with both clocks on the awkward instant.
        targets=("${DATE_MODULES[@]}")
        limit=2700
        test_now=${instant}
    fi
    # A relative offset keeps the faked clock running (a stopped clock is not a real one) and
    # does not depend on how libfaketime would read a date in ${zone}.
    offset=$(($(date -ud "${instant}" +%s) - $(date +%s)))
    ((offset >= 0)) && offset="+${offset}"
    local clock=(faketime -f "${offset}")
    [[ ${scope} == browser ]] && clock=()
    CI=true CONTINUUM_REQUIRE_POSTGRES=1 CONTINUUM_TEST_NOW=${test_now} TZ=${zone} \
        timeout --kill-after=30 "${limit}" "${clock[@]}" \
        "${python}" -m pytest -q -p no:cacheprovider "${targets[@]}" \
        >"${logs}/${name}.log" 2>&1 &
    local pid=$!
    # Under libfaketime pytest may never exit after its summary (a timed wait on the faked
    # monotonic clock lasts the fake offset: the whole-suite runs sat 20 minutes after theirs):
    # once the summary is written, allow a minute for teardown, then end the run.
    while kill -0 "${pid}" 2>/dev/null; do
        if [[ -n $(summary_of "${logs}/${name}.log") ]]; then
            for _ in $(seq 60); do
                kill -0 "${pid}" 2>/dev/null || break
                sleep 1
            done
            kill_tree "${pid}"
            break
        fi
        sleep 5
    done
    wait "${pid}" 2>/dev/null || true
}

kill_tree() {
    local child
    for child in $(pgrep -P "$1"); do
        kill_tree "${child}"
    done
    kill -TERM "$1" 2>/dev/null || true
}

summary_of() {
    grep -E '^(=+ )?[0-9]+ (passed|failed|error)' "$1" | tail -1 | sed -E 's/^=+ //; s/ =+$//'
}

echo "clock sweep: ${#runs[@]} runs, ${jobs} at a time, logs in ${logs}"
started=$(date +%s)
for run in "${runs[@]}"; do
    IFS='|' read -r name zone instant scope <<<"${run}"
    while (($(jobs -rp | wc -l) >= jobs)); do
        wait -n
    done
    echo "  start ${name}: ${scope} at ${instant}, TZ=${zone}"
    one_run "${name}" "${zone}" "${instant}" "${scope}" &
done
wait

status=0
printf '\n%-18s %-20s %-22s %-6s %s\n' run TZ instant scope result
for run in "${runs[@]}"; do
    IFS='|' read -r name zone instant scope <<<"${run}"
    result=$(summary_of "${logs}/${name}.log")
    if [[ -z ${result} || ${result} == *failed* || ${result} == *error* ]]; then
        status=1
        result="FAIL: ${result:-no summary line (timed out?)}"
    fi
    printf '%-18s %-20s %-22s %-6s %s\n' "${name}" "${zone}" "${instant}" "${scope}" "${result}"
done
echo "took $((($(date +%s) - started) / 60)) min"
exit "${status}"
