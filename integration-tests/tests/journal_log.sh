#!/usr/bin/env bash
# Log lines under systemd: when stderr is the journal stream JOURNAL_STREAM
# names, each line starts with a syslog priority (<6> info, <4> warning) and
# carries no timestamp; with stderr anywhere else the usual format stays.
# shellcheck source=SCRIPTDIR/../lib.sh
source "$(dirname "$0")/../lib.sh"
need_tool stat

log=$T/journal.log
: >"$log"
stream=$(stat -c '%d:%i' "$log")

step "stderr is the journal stream: priority prefixes, no timestamps"
JOURNAL_STREAM=$stream "$NETD" -v apply -c "$EXAMPLES/two-namespaces.toml" >/dev/null 2>"$log"
head -n 5 "$log" >&2
[[ -s $log ]] || fail "netd -v apply logged nothing"
bad=$(grep -v '^<[0-7]>' "$log" || true)
[[ -z $bad ]] || fail "lines without a priority prefix: $bad"
grep -q '^<6>' "$log" || fail "no info line (<6>) in the log"
if grep -qE '^<[0-7]>[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$log"; then
  fail "journal lines carry a timestamp"
fi

step "a warning is <4>"
NETD_LOG='netd=loud' JOURNAL_STREAM=$stream "$NETD" status >/dev/null 2>"$log"
grep -q '^<4>.*NETD_LOG' "$log" || fail "the bad NETD_LOG warning is not a <4> line: $(cat "$log")"

step "stderr elsewhere: the usual format with timestamps"
JOURNAL_STREAM=$stream "$NETD" -v destroy --all >/dev/null 2>"$T/plain.log"
head -n 3 "$T/plain.log" >&2
grep -qE '^[0-9]{4}-[0-9]{2}-[0-9]{2}T' "$T/plain.log" || fail "plain log lines have no timestamp"
if grep -q '^<[0-7]>' "$T/plain.log"; then
  fail "a priority prefix although stderr is not the journal stream"
fi
