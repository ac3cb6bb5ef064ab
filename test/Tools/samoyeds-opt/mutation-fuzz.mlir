// RUN: rm -rf %t
// RUN: %python %samoyeds_src/fuzz/samoyeds-opt-mutate.py --samoyeds-opt samoyeds-opt --seed 1 --iterations 60 --time-budget 20 --crash-dir %t -q | FileCheck %s

// A short, fixed-seed run of the mutation fuzzer over the repository's tests
// and examples: samoyeds-opt neither crashes nor fails without a diagnostic
// on any of its mutants (the fuzzer exits 1 if it does). The CI smoke run is
// `python3 fuzz/samoyeds-opt-mutate.py --smoke`; docs/Robustness.md has more.

// CHECK: samoyeds-opt mutation fuzzer: {{[0-9]+}} mutants
// CHECK: silent 0
// CHECK: crash 0
