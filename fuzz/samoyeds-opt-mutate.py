#!/usr/bin/env python3
"""Mutation fuzzer for samoyeds-opt (Python standard library only).

Takes the repository's .mlir tests and examples as seeds, mutates them at the
byte, token and line level, runs samoyeds-opt on each mutant with one of the
pipelines or passes (and sometimes hostile pass options) under a timeout, and
classifies what happened:

  success     rc 0
  diagnostic  rc 1 with an `error:` line and no crash marker (a clean refusal)
  silent      rc != 0 without an `error:` line and without a crash marker
  crash       killed by a signal, or 'LLVM ERROR', 'PLEASE submit a bug
              report', 'Stack dump' in the output
  upstream    a crash (or out-of-memory abort) whose output matches
              fuzz/known-upstream.txt (a known bug of upstream MLIR,
              documented in docs/Robustness.md), or a failure without a
              message while reading byte-mutated bytecode (MLIR's reader)
  oom         ran out of its --memory-mb of address space
  timeout     still running after --timeout seconds (slow or hung)

samoyeds-opt parses its input in a child process first (its parse sandbox,
--parse-sandbox-timeout, --sandbox-timeout here) and reports a crash or hang
there as an error. Such a run is re-run without the sandbox: it counts as a
`diagnostic` (and as `contained`) when that run is `upstream`, or, in the
bytecode-input action, hangs or does not fail; otherwise as what that run was
(a crash, silent failure, out-of-memory run or timeout of ours that the
sandbox would hide), or, if that run succeeded or gave a diagnostic, as a
`crash` (`timeout` for a sandbox timeout) that only the sandbox reported.

Crashing, silent, out-of-memory and timed-out inputs are saved (not minimised) under
--crash-dir with the command line and the output, at most --keep per
signature. The run ends after --iterations mutants or --time-budget seconds,
whichever comes first, prints a summary and exits 1 when an outcome listed in
--fail-on occurred.

  python3 fuzz/samoyeds-opt-mutate.py --samoyeds-opt build/bin/samoyeds-opt \\
      --iterations 20000 --crash-dir fuzz-crashes
  python3 fuzz/samoyeds-opt-mutate.py --smoke   # ~25 s, fixed seed (CI)
"""

import argparse
import collections
import hashlib
import json
import os
import random
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# What runs on a mutant: (name, weight, argument builder). `{dir}` is a fresh
# bundle directory. Cheap actions (parsing, the source passes) run more often
# than whole pipelines.
ACTIONS = [
    ("parse", 4, lambda o: []),
    ("roundtrip-bytecode", 1, lambda o: ["--emit-bytecode"]),
    ("decompose-moe", 3, lambda o: ["--samoyeds-decompose-moe"]),
    ("select-tiles", 3, lambda o: ["--samoyeds-select-tiles" + o("tiles")]),
    ("convert-to-gpu", 3, lambda o: [
        "--samoyeds-decompose-moe", "--samoyeds-select-tiles" + o("tiles"),
        "--convert-samoyeds-to-gpu"]),
    ("to-ptx", 2, lambda o: ["--samoyeds-to-ptx" + o("pipeline")]),
    ("to-bundle", 1, lambda o: ["--samoyeds-to-bundle" + o("bundle")]),
    ("emit-bundle", 1, lambda o: ["--samoyeds-emit-bundle" + o("emit")]),
    # Parses a byte-mutated bytecode file of the seed (samoyeds-opt
    # --emit-bytecode), not the textual mutant.
    ("bytecode-input", 2, lambda o: []),
]

# What LLVM prints, at the start of a line, when it aborts or crashes. (Not
# anywhere in a line: a diagnostic echoes the input's line, which may hold
# these words, e.g. the lit RUN lines of the seeds.)
CRASH_MARKERS = re.compile(
    r"^(LLVM ERROR:|PLEASE submit a bug report|Stack dump:|.*Assertion `.*' "
    r"failed\.$|UNREACHABLE executed)", re.MULTILINE)

INTERESTING_INTS = [
    0, 1, -1, 2, 3, 4, 7, 8, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 128, 255,
    256, 1023, 1024, 4096, 14336, 65535, 65536, 2**24, 2**31 - 1, 2**31,
    -2**31, 2**32, 2**32 + 1, 2**62, 2**63 - 1, 2**63, -2**63, 2**64, 10**30,
    99999999999999999999999999,
]
ODD_NAMES = [
    '@"x-y"', '@""', '@"1abc"', '@"a b"', '@"a.b"', '@"$x"', '@"%x"',
    '@"\\00x"', '@"\\n"', '@"\u00e9t\u00e9"', '@"' + "a" * 300 + '"',
    '@_', '@a.b', '@a$b', '@"a\\22b"', '@"samoyeds_kernels"', '@main',
]
ODD_STRINGS = [
    '""', '" "', '"x"', '"x"', '"w"', '"y"', '"t0"', '"arg0"', '"w.values"',
    '"a\\00b"', '"\\n"', '"\\22"', '"\u20ac"', '"' + "n" * 500 + '"',
    '"ws_expert_ssmm_0"', '"T"',
]
ODD_TYPES = [
    "bf16", "f16", "f32", "f64", "i1", "i8", "i32", "i64", "index", "f8E4M3FN",
    "complex<f32>", "none", "tf32",
]
ODD_DIMS = ["?", "0", "1", "3", "16", "32", "48", "64", "2147483648",
            "9223372036854775807", "4611686018427387904", "128", "4096"]
CHIPS = ["sm_80", "sm_90", "sm_90a", "sm_70", "", "sm_100a", "sm_9", "x"]
OPTION_INTS = [-2**63, -2, -1, 0, 1, 2, 3, 4, 5, 16, 17, 32, 33, 64, 2**31,
               2**63 - 1]

TOKEN_RE = re.compile(
    rb'(?P<num>-?\d+(?:\.\d+)?(?:e[+-]?\d+)?)'
    rb'|(?P<sym>@(?:"(?:[^"\\\n]|\\.)*"|[A-Za-z_][\w$.]*))'
    rb'|(?P<str>"(?:[^"\\\n]|\\.)*")'
    rb'|(?P<dims>(?:(?:\?|\d+)x)+)'
    rb'|(?P<id>[A-Za-z_][\w$.]*)'
    rb'|(?P<val>%[\w$.#-]+)'
    rb'|(?P<punct>[<>(){}\[\],:=])')


def load_seeds(paths):
    """Every .mlir file under `paths`, split at `// -----` into chunks."""
    seeds = []
    for base in paths:
        files = [base] if os.path.isfile(base) else sorted(
            os.path.join(d, f) for d, _, fs in os.walk(base) for f in fs
            if f.endswith(".mlir"))
        for path in files:
            with open(path, "rb") as f:
                text = f.read()
            for chunk in re.split(rb"\n// -----\n", text):
                if chunk.strip():
                    seeds.append((os.path.relpath(path, ROOT), chunk))
    return seeds


class Mutator:
    """Byte, token and line mutations of one MLIR text."""

    def __init__(self, rng, seeds):
        self.rng = rng
        self.seeds = seeds

    def pick(self, seq):
        return seq[self.rng.randrange(len(seq))]

    def tokens(self, data, kind=None):
        return [m for m in TOKEN_RE.finditer(data)
                if kind is None or m.lastgroup == kind]

    def replace_token(self, data, kinds, make, everywhere=0.0, pred=None):
        """Replaces one token of `kinds` by make(token); with probability
        `everywhere` every token of the same text too (types are spelled at
        each use, so a consistent change gets past the parser)."""
        toks = [m for m in TOKEN_RE.finditer(data) if m.lastgroup in kinds
                and (pred is None or pred(m.group()))]
        if not toks:
            return data, None
        m = self.pick(toks)
        new = make(m)
        same = [t for t in toks if t.group() == m.group()]
        chosen = same if self.rng.random() < everywhere else [m]
        for t in reversed(chosen):
            data = data[:t.start()] + new + data[t.end():]
        return data, m.lastgroup

    # Token level -----------------------------------------------------------
    def number(self, data):
        def make(m):
            v = self.pick(INTERESTING_INTS)
            if self.rng.random() < 0.2:
                v = int(m.group().split(b".")[0]) + self.rng.choice([-1, 1])
            return str(v).encode()
        return self.replace_token(data, ("num",), make, 0.5)[0]

    def dims(self, data):
        def make(m):
            n = m.group().count(b"x")
            if self.rng.random() < 0.2:
                n = max(0, n + self.rng.choice([-1, 1]))
            return b"".join(self.pick(ODD_DIMS).encode() + b"x"
                            for _ in range(n))
        return self.replace_token(data, ("dims",), make, 0.7)[0]

    def symbol(self, data):
        return self.replace_token(
            data, ("sym",), lambda m: self.pick(ODD_NAMES).encode(), 0.5)[0]

    def string(self, data):
        return self.replace_token(
            data, ("str",), lambda m: self.pick(ODD_STRINGS).encode())[0]

    def dtype(self, data):
        types = [t.encode() for t in ODD_TYPES]
        return self.replace_token(data, ("id",), lambda m: self.pick(types),
                                  0.7, pred=lambda t: t in types)[0]

    def swap_token(self, data):
        """Replaces a token by one of the same kind from any seed."""
        toks = self.tokens(data)
        if not toks:
            return data
        m = self.pick(toks)
        donor = self.tokens(self.pick(self.seeds)[1], m.lastgroup)
        if not donor:
            return data
        return data[:m.start()] + self.pick(donor).group() + data[m.end():]

    def drop_token(self, data):
        toks = self.tokens(data)
        if not toks:
            return data
        m = self.pick(toks)
        return data[:m.start()] + data[m.end():]

    def samoyeds_name(self, data):
        """Gives an argument or result a (possibly odd, empty or duplicate)
        name, replacing the attribute dictionary it has."""
        cands = list(re.finditer(
            rb"(?:%\w+: |-> \()tensor<(?:[^<>]|<[^<>]*>)*>( \{[^{}]*\})?",
            data))
        if not cands:
            return data
        m = self.pick(cands)
        attr = b" {samoyeds.name = " + self.pick(ODD_STRINGS).encode() + b"}"
        end = m.start(1) if m.group(1) else m.end()
        return data[:end] + attr + data[m.end():]

    # Line level ------------------------------------------------------------
    def lines(self, data):
        lines = data.split(b"\n")
        op = self.rng.randrange(4)
        i = self.rng.randrange(len(lines))
        if op == 0 and len(lines) > 1:
            del lines[i]
        elif op == 1:
            lines.insert(i, lines[i])
        elif op == 2:
            j = self.rng.randrange(len(lines))
            lines[i], lines[j] = lines[j], lines[i]
        else:
            donor = self.pick(self.seeds)[1].split(b"\n")
            lines.insert(i, self.pick(donor))
        return b"\n".join(lines)

    # Byte level ------------------------------------------------------------
    def bytes_(self, data):
        if not data:
            return data
        b = bytearray(data)
        op = self.rng.randrange(5)
        i = self.rng.randrange(len(b))
        if op == 0:
            b[i] ^= 1 << self.rng.randrange(8)
        elif op == 1:
            b.insert(i, self.pick(b"<>(){}[]\",:=%@#?x0\x00\xff-"))
        elif op == 2:
            del b[i:i + self.rng.randrange(1, 16)]
        elif op == 3:
            n = self.rng.randrange(1, 64)
            b[i:i] = b[i:i + n]
        else:
            b[i] = self.rng.randrange(256)
        return bytes(b)

    def truncate(self, data):
        return data[:self.rng.randrange(len(data) + 1)]

    def mutate_binary(self, data):
        """Byte-level mutations only (for bytecode)."""
        applied = []
        for _ in range(1 + int(self.rng.expovariate(1.0))):
            fn = self.truncate if self.rng.random() < 0.15 else self.bytes_
            data = fn(data)
            applied.append(fn.__name__.rstrip("_"))
        return data, applied

    def mutate(self, data):
        ops = [(self.number, 6), (self.dims, 3), (self.symbol, 2),
               (self.string, 2), (self.dtype, 2), (self.swap_token, 3),
               (self.drop_token, 2), (self.samoyeds_name, 2), (self.lines, 3),
               (self.bytes_, 3), (self.truncate, 1)]
        total = sum(w for _, w in ops)
        applied = []
        for _ in range(1 + int(self.rng.expovariate(1.0))):
            r = self.rng.uniform(0, total)
            for fn, w in ops:
                r -= w
                if r <= 0:
                    break
            data = fn(data)
            applied.append(fn.__name__.rstrip("_"))
        return data, applied


def option_string(rng, kind, bundle_dir, hostile):
    """Pass or pipeline options; hostile ones take extreme values."""
    opts = []
    if kind in ("tiles", "pipeline", "bundle"):
        opts.append("chip=" + (rng.choice(CHIPS) if hostile and
                               rng.random() < 0.3 else "sm_90a"))
        if hostile:
            for name in ("tokens", "split-k", "row-tiles", "row-masks",
                         "persistent", "split-slots", "mid-split-k",
                         "mid-split-slots", "evict-first-experts",
                         "wide-tokens", "wide-low-tokens", "warpgroups",
                         "token-step", "few-slots", "wide-units",
                         "persistent-units", "late-pairs", "wide-multicast",
                         "wide-multicast-slots", "wide-cluster",
                         "wide-accumulators", "persistent-tokens",
                         "wide-packed", "wide-persistent", "wide-unit-calls",
                         "wide-row-masks"):
                if rng.random() < 0.3:
                    opts.append("%s=%d" % (name, rng.choice(OPTION_INTS)))
            # The launch options that count a grid's blocks, the routed
            # spans by token halves, the wide variants' dependent launches
            # and what the dependent launches do before their wait.
            for name in ("fuse-combine", "fuse-split-reduce", "span-halves",
                         "pdl-wide", "prefetch-before-wait",
                         "weights-before-wait"):
                if rng.random() < 0.3:
                    opts.append("%s=%d" % (name, rng.randint(0, 1)))
    if kind in ("bundle", "emit"):
        opts.append("dir=" + bundle_dir)
        opts.append("assemble=false")
    return "=" + " ".join(opts) if opts else ""


OOM_MARKERS = ("out of memory", "Allocation failed", "std::bad_alloc")

# The error samoyeds-opt prints when its parse sandbox stopped a parse.
SANDBOX_RE = re.compile(r"^\S*:0:0: error: parse sandbox: (.*?) on this input",
                        re.MULTILINE)


def classify(rc, out, timed_out, known, reads_bytecode=False):
    if timed_out:
        return "timeout"
    if any(m in out for m in OOM_MARKERS):
        # An upstream reader that allocates what a mutated size field asks for
        # (MLIR 22's bytecode reader, docs/Robustness.md) is upstream's; any
        # other run out of memory is ours.
        return "upstream" if any(p.search(out) for p in known) else "oom"
    crashed = rc < 0 or CRASH_MARKERS.search(out) is not None
    if crashed:
        if any(p.search(out) for p in known):
            return "upstream"
        return "crash"
    if rc == 0:
        return "success"
    if "error:" in out:
        return "diagnostic"
    # MLIR 22's bytecode reader fails on some corrupted files without a message
    # (docs/Robustness.md); samoyeds-opt only reads such a file.
    return "upstream" if reads_bytecode else "silent"


def contained_outcome(raw, reads_bytecode, hang):
    """The outcome of a run that the parse sandbox stopped, given `raw`, the
    outcome of the same run without the sandbox, and whether it was contained
    (MLIR's parser or bytecode reader, as `upstream` says, is what failed).
    In the bytecode-input action only the reader runs: a hang, or a crash
    that the run without the sandbox does not repeat (the reader writes past
    its buffers on some files, with effects that depend on the heap), is the
    reader's too."""
    if raw == "upstream" or (reads_bytecode and raw in (
            "timeout", "success", "diagnostic")):
        return "diagnostic", True
    if raw in ("success", "diagnostic"):
        return ("timeout" if hang else "crash"), False
    return raw, False


def signature(outcome, rc, out):
    """A short key that groups crashes by cause."""
    for marker in ("LLVM ERROR:", "Assertion `", "UNREACHABLE executed"):
        i = out.find(marker)
        if i >= 0:
            return out[i:out.find("\n", i)][:160]
    frames = []
    for line in out.splitlines():
        m = re.match(r"\s*#\d+ 0x[0-9a-f]+ (.*?)(?: \(|$)", line)
        if not m:
            continue
        fn = m.group(1)
        if fn.startswith("(") or any(s in fn for s in ("PrintStackTrace", "SignalHandler",
                                 "RunSignalHandlers", "__restore_rt",
                                 "_sigtramp", "libc.so", "/lib/x86_64")):
            continue
        frames.append(re.sub(r"\s+/.*$", "", fn)[:80])
        if len(frames) == 3:
            break
    if frames:
        return " | ".join(frames)
    m = SANDBOX_RE.search(out)
    if m:
        return "parse sandbox: " + m.group(1)
    if outcome == "crash":
        return "signal %d" % -rc if rc < 0 else "crash rc %d" % rc
    return outcome


def bytecode_of(binary, text, workdir, cache):
    """The bytecode samoyeds-opt writes for `text`, or None if it does not
    parse (cached)."""
    key = hashlib.sha1(text).hexdigest()
    if key not in cache:
        src = os.path.join(workdir, "seed.mlir")
        dst = os.path.join(workdir, "seed.mlirbc")
        with open(src, "wb") as f:
            f.write(text)
        rc = subprocess.call([binary, src, "--emit-bytecode", "-o", dst],
                             stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
        cache[key] = open(dst, "rb").read() if rc == 0 else None
    return cache[key]


def run_one(binary, args, text, timeout, workdir, memory_mb):
    path = os.path.join(workdir, "mutant.mlir")
    with open(path, "wb") as f:
        f.write(text)
    return run_cmd([binary, path] + args + ["-o", os.devnull], timeout,
                   memory_mb)


def run_cmd(cmd, timeout, memory_mb):
    def limit_memory():
        # Address space: a mutant that makes samoyeds-opt allocate without
        # bound fails (as `oom`) instead of taking the machine's memory.
        if memory_mb:
            import resource
            size = memory_mb << 20
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT,
                                start_new_session=True,
                                preexec_fn=limit_memory)
    except OSError as e:
        sys.exit("cannot run %s: %s" % (cmd[0], e))
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out, False, cmd
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        return proc.returncode, out, True, cmd


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--samoyeds-opt", default=None,
                   help="binary (default: build/bin/samoyeds-opt, then PATH)")
    p.add_argument("--seeds", nargs="*",
                   default=[os.path.join(ROOT, "test"),
                            os.path.join(ROOT, "examples")])
    p.add_argument("--iterations", type=int, default=None,
                   help="mutants to run (default 1000; 400 with --smoke)")
    p.add_argument("--time-budget", type=float, default=0,
                   help="stop after this many seconds (0: no limit)")
    p.add_argument("--timeout", type=float, default=10.0,
                   help="seconds one samoyeds-opt run may take")
    p.add_argument("--sandbox-timeout", type=int, default=5,
                   help="samoyeds-opt --parse-sandbox-timeout, below "
                   "--timeout so that a hung parse is reported as such "
                   "(0: do not pass it, for a samoyeds-opt without it)")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed (default: time)")
    p.add_argument("--crash-dir", default="fuzz-crashes")
    p.add_argument("--keep", type=int, default=3,
                   help="inputs saved per crash signature")
    p.add_argument("--known-upstream",
                   default=os.path.join(ROOT, "fuzz", "known-upstream.txt"))
    p.add_argument("--memory-mb", type=int, default=4096,
                   help="address space of one samoyeds-opt run (0: no limit)")
    p.add_argument("--fail-on", default="crash,silent,oom",
                   help="outcomes that make the exit status 1")
    p.add_argument("--hostile-options", type=float, default=0.3,
                   help="share of runs with extreme pass options")
    p.add_argument("--actions", default="",
                   help="comma-separated actions to run (default: all)")
    p.add_argument("--smoke", action="store_true",
                   help="CI: --seed 1 --iterations 400 --time-budget 25")
    p.add_argument("--json", help="also write the summary as JSON here")
    p.add_argument("-q", "--quiet", action="store_true")
    a = p.parse_args()
    if a.smoke:
        a.seed = 1 if a.seed is None else a.seed
        a.iterations = a.iterations or 400
        a.time_budget = a.time_budget or 25
    if a.seed is None:
        a.seed = int(time.time())
    a.iterations = a.iterations or 1000

    binary = a.samoyeds_opt
    if not binary:
        local = os.path.join(ROOT, "build", "bin", "samoyeds-opt")
        binary = local if os.path.exists(local) else shutil.which(
            "samoyeds-opt")
    if not binary or not os.path.exists(binary):
        sys.exit("samoyeds-opt not found; pass --samoyeds-opt")
    binary = os.path.abspath(binary)
    known = []
    if os.path.exists(a.known_upstream):
        with open(a.known_upstream) as f:
            known = [re.compile(l.strip()) for l in f
                     if l.strip() and not l.startswith("#")]
    seeds = [s for s in load_seeds(a.seeds) if s[1]]
    if not seeds:
        sys.exit("no seeds")
    # Mutants of valid inputs reach the passes; those of the negative tests
    # mostly stop at the verifier. Pick valid seeds four times as often.
    valid = [s for s in seeds if b"expected-error" not in s[1] and
             b"error:" not in s[1]]
    weighted = valid * 4 + seeds
    fail_on = set(x for x in a.fail_on.split(",") if x)

    rng = random.Random(a.seed)
    mutator = Mutator(rng, seeds)
    only = set(a.actions.split(",")) if a.actions else None
    names = [n for n, w, _ in ACTIONS for _ in range(w)
             if only is None or n in only]
    if not names:
        sys.exit("no such action; choose among: " +
                 ", ".join(n for n, _, _ in ACTIONS))
    bytecodes = {}
    builders = {n: b for n, _, b in ACTIONS}
    outcomes = collections.Counter()
    contained = collections.Counter()
    contained_kinds = collections.Counter()
    sandbox = (["--parse-sandbox-timeout=%d" % a.sandbox_timeout]
               if a.sandbox_timeout else [])
    per_action = collections.defaultdict(collections.Counter)
    sigs = collections.OrderedDict()
    slowest = (0.0, None)
    workdir = tempfile.mkdtemp(prefix="samoyeds-fuzz-")
    start = time.time()
    n = 0
    try:
        while n < a.iterations:
            if a.time_budget and time.time() - start > a.time_budget:
                break
            n += 1
            seed_path, seed = mutator.pick(weighted)
            action = rng.choice(names)
            bytecode = None
            if action == "bytecode-input":
                bytecode = bytecode_of(binary, seed, workdir, bytecodes)
                if bytecode is None:
                    action = "parse"
            if bytecode is not None:
                text, applied = mutator.mutate_binary(bytecode)
            else:
                text, applied = mutator.mutate(seed)
            hostile = rng.random() < a.hostile_options
            bundle_dir = os.path.join(workdir, "bundle")
            shutil.rmtree(bundle_dir, ignore_errors=True)
            args = builders[action](
                lambda kind: option_string(rng, kind, bundle_dir, hostile))
            # The last run gets what is left of the budget; one cut short by
            # it is not counted.
            limit = a.timeout
            if a.time_budget:
                limit = max(0.5, min(limit, a.time_budget - (time.time() - start)))
            t0 = time.time()
            rc, out, timed_out, cmd = run_one(binary, args + sandbox, text,
                                              limit, workdir, a.memory_mb)
            took = time.time() - t0
            if timed_out and limit < a.timeout:
                n -= 1
                break
            out = out.decode("utf-8", "replace")
            reads_bytecode = action == "bytecode-input"
            outcome = classify(rc, out, timed_out, known, reads_bytecode)
            stopped = SANDBOX_RE.search(out) if outcome == "diagnostic" else None
            if stopped:
                # Whose parse failed? The same run without the sandbox says.
                raw_cmd = [c for c in cmd if c not in sandbox] + [
                    "--parse-sandbox-timeout=0"]
                rc2, out2, timed_out2, _ = run_cmd(raw_cmd, a.timeout,
                                                   a.memory_mb)
                out2 = out2.decode("utf-8", "replace")
                raw = classify(rc2, out2, timed_out2, known, reads_bytecode)
                outcome, was_contained = contained_outcome(
                    raw, reads_bytecode, "did not finish" in stopped.group(1))
                if was_contained:
                    contained[action] += 1
                    contained_kinds[re.sub(r"\d+ s", "N s",
                                           stopped.group(1))] += 1
                elif raw in ("success", "diagnostic"):
                    out += "\n(without the parse sandbox: %s, rc %s)\n%s" % (
                        raw, rc2, out2)
                else:
                    rc, out, cmd = rc2, out2, raw_cmd
            outcomes[outcome] += 1
            per_action[action][outcome] += 1
            if took > slowest[0] and not timed_out:
                slowest = (took, "%s (%s)" % (seed_path, action))
            if outcome in ("success", "diagnostic"):
                continue
            sig = signature(outcome, rc, out)
            entry = sigs.setdefault(sig, {"outcome": outcome, "count": 0,
                                          "files": []})
            entry["count"] += 1
            if len(entry["files"]) < a.keep:
                os.makedirs(a.crash_dir, exist_ok=True)
                h = hashlib.sha1(text + " ".join(args).encode()).hexdigest()[:12]
                base = os.path.join(a.crash_dir, "%s-%s" % (outcome, h))
                with open(base + ".mlir", "wb") as f:
                    f.write(text)
                with open(base + ".txt", "w") as f:
                    f.write("seed: %s\nmutations: %s\nrc: %s\ncommand: %s\n\n"
                            % (seed_path, " ".join(applied), rc,
                               shlex.join(cmd[:1] + [base + ".mlir"] +
                                          cmd[2:])))
                    f.write(out[-20000:])
                entry["files"].append(base + ".mlir")
            if not a.quiet:
                print("[%d] %s: %s (%s)" % (n, outcome, sig, seed_path),
                      flush=True)
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(workdir, ignore_errors=True)

    elapsed = time.time() - start
    print("\nsamoyeds-opt mutation fuzzer: %d mutants in %.0f s (seed %d, "
          "%d seed chunks, timeout %g s)" % (n, elapsed, a.seed, len(seeds),
                                             a.timeout))
    for k in ("success", "diagnostic", "silent", "crash", "upstream",
              "oom", "timeout"):
        print("  %-10s %6d" % (k, outcomes[k]))
    print("  (contained by the parse sandbox, counted as diagnostic: %d)"
          % sum(contained.values()))
    for kind, count in contained_kinds.most_common():
        print("    %5d %s" % (count, kind))
    print("by action:")
    for action, c in sorted(per_action.items()):
        print("  %-18s %s" % (action, ", ".join(
            ["%s %d" % kv for kv in sorted(c.items())] +
            (["of which contained %d" % contained[action]]
             if contained[action] else []))))
    if slowest[1]:
        print("slowest completed run: %.1f s, %s" % slowest)
    if sigs:
        print("signatures (%d):" % len(sigs))
        for sig, e in sigs.items():
            print("  [%s x%d] %s\n      e.g. %s" % (e["outcome"], e["count"],
                                                   sig, e["files"][0]
                                                   if e["files"] else "-"))
    if a.json:
        with open(a.json, "w") as f:
            json.dump({"mutants": n, "seconds": elapsed, "seed": a.seed,
                       "outcomes": outcomes,
                       "contained": sum(contained.values()),
                       "contained_kinds": contained_kinds,
                       "signatures": sigs}, f, indent=1)
    failed = sorted(k for k in fail_on if outcomes[k])
    if failed:
        print("FAILED: %s" % ", ".join(failed))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
