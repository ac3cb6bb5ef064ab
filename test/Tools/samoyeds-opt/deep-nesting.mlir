// RUN: %python -c "d = 20000; print('func.func @f() attributes {a = ' + '[' * d + ']' * d + '} {\n  return\n}')" > %t.attr.mlir
// RUN: samoyeds-opt %t.attr.mlir | FileCheck %s --check-prefix=ATTR
// RUN: %python -c "d = 6000; print('func.func @f() {\n' + 'scf.execute_region {\n' * d + 'scf.yield\n' + '}\nscf.yield\n' * (d - 1) + '}\nreturn\n}')" > %t.region.mlir
// RUN: samoyeds-opt %t.region.mlir --mlir-print-op-generic | FileCheck %s --check-prefix=REGION

// samoyeds-opt runs on a 512 MiB stack: inputs nested far deeper than the
// default 8 MiB stack allows (about 10,000 attribute brackets or 5,000
// regions) parse, verify and print (docs/Robustness.md).

// ATTR: func.func @f() attributes {a = {{\[+\]+}}}
// REGION-COUNT-6000: "scf.execute_region"()
