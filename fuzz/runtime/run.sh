#!/usr/bin/env bash
# Builds the runtime fuzz targets (build.sh) and runs each in turn, one
# process at a time, from a scratch copy of its seed corpus:
#   fuzz/runtime/run.sh LIBFUZZER_FLAGS...
# e.g. -max_total_time=10 (smoke.sh) or -runs=2000000 (a campaign).
# Environment: BUILD_DIR (default build-fuzz), TARGETS (default "manifest
# weightfile unpack"), KEEP_CORPUS=DIR to keep the grown corpora there.
# Crashing inputs go to BUILD_DIR/fuzz/artifacts, logs to BUILD_DIR/fuzz/logs;
# the exit status is non-zero when any target failed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${BUILD_DIR:-$here/../../build-fuzz}
"$here/build.sh" "$build" >/dev/null
work=${KEEP_CORPUS:-$(mktemp -d)}
[[ -n ${KEEP_CORPUS:-} ]] || trap 'rm -rf "$work"' EXIT
mkdir -p "$build/fuzz/artifacts" "$build/fuzz/logs"
status=0
for t in ${TARGETS:-manifest weightfile unpack}; do
  mkdir -p "$work/$t"
  log=$build/fuzz/logs/$t.log
  start=$(date +%s)
  if ! "$build/fuzz/samoyeds-fuzz-$t" -max_len=32768 -timeout=20 \
      -rss_limit_mb=2048 -print_final_stats=1 \
      -artifact_prefix="$build/fuzz/artifacts/$t-" "$@" \
      "$work/$t" "$here/corpus/$t" >"$log" 2>&1; then
    status=1
    echo "$t: FAILED (see $log)"
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$t: ${runs:-?} executions in $(($(date +%s) - start)) s," \
       "corpus $(ls "$work/$t" | wc -l) new inputs"
done
exit $status
