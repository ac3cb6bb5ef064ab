#!/usr/bin/env bash
# Bounded smoke run of the runtime fuzz targets (docs/Robustness.md): builds
# them and runs each for SECONDS (default 10) from its seed corpus.
#   fuzz/runtime/smoke.sh [SECONDS]
# Exit status non-zero when a target finds a crash or an oracle violation.
exec "$(dirname "$0")/run.sh" -max_total_time="${1:-10}"
