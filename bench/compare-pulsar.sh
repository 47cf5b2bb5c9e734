#!/usr/bin/env bash
# Magnetar vs Apache Pulsar, side by side (docs/BENCHMARKS.md, "Side by side with Apache Pulsar"):
#   bench/compare-pulsar.sh [options]        # full comparison, ~15-20 min on 2 cores from a clean checkout
#   bench/compare-pulsar.sh --smoke          # a few seconds per run, three workloads (what .ci/run runs)
#   bench/compare-pulsar.sh --help           # the options (workload selection, durations, durability, heaps)
# 1. builds Magnetar (mvn install -DskipTests) unless SKIP_BUILD=1;
# 2. resolves Apache Pulsar 4.0.x standalone + client from Maven Central and compiles the Pulsar driver with the
#    separate bench/pulsar/pom.xml (never part of the main reactor);
# 3. runs io.magnetar.bench.compare.PulsarComparison: starts both brokers as child processes (data in a temporary
#    directory, PIDs recorded, both stopped at the end), runs bench/workloads/*.yaml against each in turn, prints live
#    progress and writes bench/target/pulsar-comparison/report.md (result files and logs beside it).
# MVN_FLAGS passes extra Maven flags to both builds, e.g. MVN_FLAGS="-Dmaven.repo.local=$PWD/.m2repo -o".
# Exit status: 0 when every run of both sides verified, 1 otherwise, 2 on bad options.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
MVN_FLAGS=${MVN_FLAGS:-}
for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
    exec java -cp bench/target/magnetar-load.jar io.magnetar.bench.compare.PulsarComparison --help 2>/dev/null ||
      { echo "build first (mvn -B install -DskipTests), then: bench/compare-pulsar.sh --help"; exit 0; }
  fi
done
start=$SECONDS
if [ "${SKIP_BUILD:-0}" != "1" ]; then
  echo "compare-pulsar: building Magnetar (mvn -B -q install -DskipTests)"
  # shellcheck disable=SC2086
  mvn -B -q $MVN_FLAGS install -DskipTests
  echo "compare-pulsar: resolving Apache Pulsar and building the Pulsar driver (bench/pulsar/pom.xml)"
  # shellcheck disable=SC2086
  mvn -B -q $MVN_FLAGS -s bench/pulsar/settings.xml -f bench/pulsar/pom.xml package
  echo "compare-pulsar: built in $((SECONDS - start)) s"
fi
version="$(sed -n 's:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -1)"
commit="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
if [ -n "$(git status --porcelain 2>/dev/null | grep -v '^??' || true)" ]; then commit="$commit+local changes"; fi
# the orchestrator needs no JVM flags of its own (it starts the brokers and clients, each with theirs)
exec java -Xmx512m -cp bench/target/magnetar-load.jar io.magnetar.bench.compare.PulsarComparison \
  --magnetar-version "$version ($commit)" --command-line "bench/compare-pulsar.sh${*:+ $*}" "$@"
