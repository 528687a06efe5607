#!/usr/bin/env bash
# The long versions of the reliability tests (RELIABILITY.md). CI runs the same tests at their
# short sizes as part of ./mvnw verify. Prints each test's RELIABILITY line at the end.
set -euo pipefail
cd "$(dirname "$0")"
export TASKEVENTS_TEST_POSTGRES_URL="${TASKEVENTS_TEST_POSTGRES_URL:-jdbc:postgresql://127.0.0.1:5432/test?user=postgres}"
export TASKEVENTS_TEST_MARIADB_URL="${TASKEVENTS_TEST_MARIADB_URL:-jdbc:mariadb://127.0.0.1:3306/test?user=root}"
export TASKEVENTS_TEST_REQUIRE_DATABASES=true
log=$(mktemp)
status=0
./mvnw -B -ntp verify \
  -Dtaskevents.reliability.workflows=1000 -Dtaskevents.reliability.kills=10 \
  -Dtaskevents.reliability.fuzz=50000 -Dtaskevents.reliability.iterations=50000 \
  -Dtaskevents.hostile.flood=256 -Dtaskevents.chaos.workflows=1000 -Dtaskevents.chaos.rounds=5 \
  -Dtaskevents.failover.workflows=1000 -Dtaskevents.failover.count=10 \
  -Dtest='DatabaseFaultTest,CrashBetweenCommitAndTellingTest,OverloadTest,KeyedExecutorRandomStressTest,TaskEventFuzzTest,TaskEventOracleFuzzTest,ServeFuzzTest,ServeModelFuzzTest,ForkedServeTest' \
  -Dit.test='ReliabilityIT,ClusterChaosIT,DatabaseFailoverIT' -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false \
  >"$log" 2>&1 || status=$?
grep -E '^RELIABILITY|Tests run:.*Fail|BUILD' "$log"
[ "$status" -eq 0 ] || echo "reliability-long: the build failed; full log: $log" >&2
exit "$status"
