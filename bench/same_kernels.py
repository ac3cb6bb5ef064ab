"""Which kernels of one bundle are another bundle's byte for byte, but the name (no GPU needed).

    python3 bench/same_kernels.py NEW_BUNDLE OLD_BUNDLE [OLD_BUNDLE ...]

Each bundle is a directory with kernels.ptx (or the PTX file itself). A kernel's text is compared
with its own name and its basic-block labels ($L__BB<n>_<m>) normalised, and without the
`// .globl` line of the kernel after it, so a kernel renamed by a variant (`_wide` as `_wide_low`,
`_persistent` as `_wide`) still matches the one a benchmark timed, last in its file or not. Prints one line per kernel of
NEW_BUNDLE: the kernels of the old bundles it equals (BUNDLE:KERNEL), or NEW. Exit status 0 when
every kernel matched, 1 when some did not, 2 for unreadable input. Sessions use it to say that a
new default runs measured kernels only (bench/RESULTS.md).
"""
import os
import re
import sys

ENTRY = re.compile(r"^\.(?:visible )?\.entry (\w+)", re.M)
LABEL = re.compile(r"\$L__BB\d+_\d+")
GLOBL = re.compile(r"//\s*\.globl\s+\w+")


def read_ptx(path):
    """The PTX text of a bundle directory or file; OSError where it cannot be read."""
    if os.path.isdir(path):
        path = os.path.join(path, "kernels.ptx")
    with open(path, encoding="utf-8") as f:
        return f.read()


def kernels(ptx):
    """Kernel name -> normalised text, in file order."""
    starts = [m.start() for m in ENTRY.finditer(ptx)] + [len(ptx)]
    out = {}
    for a, b in zip(starts, starts[1:]):
        text = ptx[a:b]
        name = ENTRY.match(text).group(1)
        # Trailing blank lines differ between a file's last kernel and the others.
        body = GLOBL.sub("", LABEL.sub("L", text)).rstrip()
        # The name also prefixes the kernel's parameters (NAME_param_0).
        out[name] = body.replace(name, "K")
    return out


def match(new, olds):
    """[(kernel, [bundle:kernel, ...])] for every kernel of `new` against `olds` {label: kernels}."""
    rows = []
    for name, body in new.items():
        same = [f"{label}:{other}" for label, ks in olds.items()
                for other, text in ks.items() if text == body]
        rows.append((name, same))
    return rows


def labels(paths):
    """label -> path: each bundle's directory name, or its last two path components where two
    bundles share a name (the same model in two variants' directories)."""
    parts = [os.path.normpath(p).split(os.sep) for p in paths]
    short = [p[-1] for p in parts]
    if len(set(short)) < len(short):
        short = ["/".join(p[-2:]) for p in parts]
    return dict(zip(short, paths))


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if len(argv) < 2:
        print(__doc__.split("\n\n")[1].strip(), file=sys.stderr)
        return 2
    try:
        new = kernels(read_ptx(argv[0]))
        olds = {label: kernels(read_ptx(p)) for label, p in labels(argv[1:]).items()}
    except (OSError, UnicodeDecodeError) as e:
        print(f"same_kernels: {e}", file=sys.stderr)
        return 2
    rows = match(new, olds)
    for name, same in rows:
        print(f"{name}: {', '.join(same) if same else 'NEW'}")
    return 0 if rows and all(same for _, same in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
