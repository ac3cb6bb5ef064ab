// samoyeds-opt parses its input in a child process first: where MLIR 22's
// parser or bytecode reader crashes, aborts or hangs on an input, it reports
// one located error, exits 1 and writes nothing (docs/Robustness.md, "Known
// upstream issues"). The inputs are made here or kept in Inputs/ (byte-mutated
// bytecode from the mutation fuzzer, MLIR 22.1.8 bytecode), not in this file,
// which the fuzzer takes as a seed.

// `array<index: ...>`: MLIR's parser dereferences a null pointer. The output
// file is neither created nor, if it exists, touched.
// RUN: printf '#x = array<index: 1>\n' > %t.array.mlir
// RUN: rm -f %t.array.out
// RUN: not samoyeds-opt %t.array.mlir -o %t.array.out 2>&1 | FileCheck %s --check-prefix=ARRAY --implicit-check-not="Stack dump" --implicit-check-not="PLEASE submit"
// RUN: test ! -e %t.array.out
// RUN: echo untouched > %t.keep.out
// RUN: not samoyeds-opt %t.array.mlir -o %t.keep.out 2>&1 | FileCheck %s --check-prefix=ARRAY
// RUN: FileCheck %s --check-prefix=KEEP --input-file=%t.keep.out
// ARRAY: array.mlir:0:0: error: parse sandbox: MLIR's parser crashed (signal {{[0-9]+}}, {{.+}}) on this input: a defect of MLIR 22 (docs/Robustness.md); nothing was written
// KEEP: untouched

// The same on standard input, which samoyeds-opt reads once.
// RUN: not samoyeds-opt < %t.array.mlir 2>&1 | FileCheck %s --check-prefix=STDIN --implicit-check-not="Stack dump"
// STDIN: <stdin>:0:0: error: parse sandbox: MLIR's parser crashed (signal {{[0-9]+}}, {{.+}}) on this input

// Without the sandbox, the crash is MLIR's.
// RUN: not --crash samoyeds-opt %t.array.mlir --parse-sandbox-timeout=0 2>&1 | FileCheck %s --check-prefix=UNGUARDED
// UNGUARDED: Stack dump:
// UNGUARDED: parseDenseArrayAttr

// Nesting deeper than the 512 MiB stack: the child's stack overflows.
// RUN: %python -c "d = 1000000; print('func.func @f() attributes {a = ' + '[' * d + ']' * d + '} {\n  return\n}')" > %t.deep.mlir
// RUN: not samoyeds-opt %t.deep.mlir 2>&1 | FileCheck %s --check-prefix=DEEP --implicit-check-not="Stack dump"
// DEEP: deep.mlir:0:0: error: parse sandbox: MLIR's parser crashed (signal {{[0-9]+}}, {{.+}}) on this input

// Byte-mutated bytecode: a size field that makes the reader abort (`LLVM
// ERROR: out of memory`), a read that fails without a message, and one that
// never ends.
// RUN: not samoyeds-opt %S/Inputs/bytecode-abort.mlirbc -o %t.abort.out 2>&1 | FileCheck %s --check-prefix=ABORT --implicit-check-not="LLVM ERROR"
// RUN: test ! -e %t.abort.out
// ABORT: bytecode-abort.mlirbc:0:0: error: parse sandbox: MLIR's bytecode reader crashed (signal {{[0-9]+}}, {{.+}}) on this input: a defect of MLIR 22 (docs/Robustness.md); nothing was written
// RUN: not samoyeds-opt %S/Inputs/bytecode-no-message.mlirbc 2>&1 | FileCheck %s --check-prefix=SILENT
// SILENT: bytecode-no-message.mlirbc:0:0: error: parse sandbox: MLIR's bytecode reader failed without an error message on this input: a defect of MLIR 22 (docs/Robustness.md); nothing was written
// RUN: not samoyeds-opt %S/Inputs/bytecode-hang.mlirbc --parse-sandbox-timeout=1 2>&1 | FileCheck %s --check-prefix=HANG
// HANG: bytecode-hang.mlirbc:0:0: error: parse sandbox: MLIR's bytecode reader did not finish within 1 s (--parse-sandbox-timeout) on this input: a defect of MLIR 22 (docs/Robustness.md); nothing was written

// The reader writes past a buffer on this file (valgrind) and then reports an
// error; the heap it corrupted made the process that read it abort later,
// or hang in LLVM's crash handler, depending on its layout. samoyeds-opt
// reads bytecode in the child only: the child's error, or its crash.
// RUN: not samoyeds-opt %S/Inputs/bytecode-heap-overflow.mlirbc 2>&1 | FileCheck %s --check-prefix=OVERFLOW --implicit-check-not="Stack dump" --implicit-check-not="Fatal glibc error"
// OVERFLOW: bytecode-heap-overflow.mlirbc:0:0: error: {{Attribute or Type entry offset points past the end of section|parse sandbox: MLIR's bytecode reader crashed}}

// Without a free file descriptor for its pipe, the sandbox cannot start.
// RUN: printf 'module {}\n' > %t.ok.mlir
// RUN: not bash -c 'ulimit -n 4 && exec samoyeds-opt %t.ok.mlir' 2>&1 | FileCheck %s --check-prefix=NOFD
// NOFD: ok.mlir:0:0: error: cannot start the parse sandbox: {{.+}} (--parse-sandbox-timeout=0 parses without it)
