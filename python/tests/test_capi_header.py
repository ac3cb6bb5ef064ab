"""The ctypes tables of samoyeds._capi against the C header they copy.

The package cannot read runtime/include/samoyeds-c/Runtime.h at run time (it is not installed
with it), so _capi keeps hand-written prototypes, enums and structs; these tests parse the header
and check that every prototype Python declares has the header's parameter and return types (as
ctypes maps them), that every enum constant has the header's value, and that the structs have the
header's fields. No runtime library, compiler or GPU is needed.
"""

import ctypes
import re
from pathlib import Path

import pytest

from samoyeds import _capi

REPO = Path(__file__).resolve().parents[2]
HEADER = REPO / "runtime" / "include" / "samoyeds-c" / "Runtime.h"
PACKAGE = REPO / "python" / "samoyeds"

# Scalar C types of the header and their ctypes (enums are added as c_int).
SCALARS = {
    "int": ctypes.c_int,
    "int32_t": ctypes.c_int32,
    "int64_t": ctypes.c_int64,
    "uint8_t": ctypes.c_uint8,
    "uint64_t": ctypes.c_uint64,
    "char": ctypes.c_char,
}


class Header:
    """The declarations of a C header in the style of Runtime.h: `typedef enum NAME {...}
    NAME;`, `typedef struct NAME {...} NAME;`, `typedef struct NAME NAME;` (opaque) and
    prototypes `RET NAME(PARAMS);`."""

    def __init__(self, text: str):
        text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
        text = re.sub(r"//[^\n]*", " ", text)
        text = re.sub(r"#[^\n]*", " ", text)
        self.enums = {}
        for name, body in re.findall(r"typedef\s+enum\s+(\w+)\s*\{(.*?)\}\s*\1\s*;", text, re.S):
            self.enums[name] = self._enumerators(body)
        self.structs = {}
        for name, body in re.findall(r"typedef\s+struct\s+(\w+)\s*\{(.*?)\}\s*\1\s*;", text,
                                     re.S):
            self.structs[name] = self._fields(body)
        self.opaque = set(re.findall(r"typedef\s+struct\s+(\w+)\s+\1\s*;", text))
        rest = re.sub(r"typedef\s+(enum|struct)\s+\w+\s*(\{.*?\})?\s*\w+\s*;", " ", text,
                      flags=re.S)
        rest = re.sub(r'extern\s+"C"\s*\{|\}', " ", rest)
        self.functions = {}
        for ret, name, params in re.findall(r"([A-Za-z_][\w\s\*]*?)\b(\w+)\s*\(([^()]*)\)\s*;",
                                            rest):
            params = " ".join(params.split())
            self.functions[name] = (
                " ".join(ret.split()),
                [] if params in ("", "void") else [p.strip() for p in params.split(",")])

    @staticmethod
    def _enumerators(body: str) -> dict:
        out, value = {}, -1
        for entry in filter(None, (e.strip() for e in body.split(","))):
            m = re.fullmatch(r"(\w+)\s*(?:=\s*(-?\d+))?", entry)
            assert m, f"unparsed enumerator {entry!r}"
            value = int(m.group(2)) if m.group(2) is not None else value + 1
            out[m.group(1)] = value
        return out

    @staticmethod
    def _fields(body: str) -> list:
        """[(name, C type)] of the member declarations (`int32_t n, m, v;` declares three)."""
        out = []
        for decl in filter(None, (d.strip() for d in body.split(";"))):
            first, *others = [d.strip() for d in decl.split(",")]
            ctype, name = split_declaration(first)
            out.append((name, ctype))
            base = ctype.rstrip("* ")
            out += [(n.lstrip("*").strip(), base + " *" * n.count("*")) for n in others]
        return out

    def ctype(self, c: str):
        """The ctypes type of C type `c` ("const char *const *", "sy_dtype", ...), as the
        package declares it: enums as c_int, opaque handles as c_void_p, strings c_char_p."""
        words = c.replace("*", " * ").split()
        depth = words.count("*")
        base = " ".join(w for w in words if w not in ("*", "const"))
        if base == "void":
            return None if depth == 0 else _pointers(ctypes.c_void_p, depth - 1)
        if base == "char" and depth:
            return _pointers(ctypes.c_char_p, depth - 1)
        if base in self.opaque and depth:
            return _pointers(ctypes.c_void_p, depth - 1)
        if base in self.structs:
            return _pointers(getattr(_capi, base), depth)
        if base in self.enums:
            return _pointers(ctypes.c_int, depth)
        assert base in SCALARS, f"C type {c!r}: no ctypes mapping"
        return _pointers(SCALARS[base], depth)


def split_declaration(decl: str):
    """("const char *", "name") of "const char *name"."""
    m = re.fullmatch(r"(.*?)\s*(\w+)", " ".join(decl.split()))
    assert m, f"unparsed declaration {decl!r}"
    return m.group(1), m.group(2)


def _pointers(t, depth: int):
    for _ in range(depth):
        t = ctypes.POINTER(t)
    return t


@pytest.fixture(scope="module")
def header() -> Header:
    return Header(HEADER.read_text())


def test_the_header_parses(header):
    # What the checks below rely on finding (a parser that finds nothing checks nothing).
    assert {"sy_status", "sy_buffer_kind", "sy_dtype", "sy_weight_layout"} <= set(header.enums)
    assert {"sy_weight_info", "sy_packed_weight"} <= set(header.structs)
    assert {"sy_bundle", "sy_session", "sy_packed_buffer", "sy_weight_file"} <= header.opaque
    assert header.functions["sy_last_error"] == ("const char *", [])
    assert header.functions["sy_session_run"][1][1] == "const char *const *symbol_names"
    assert len(header.functions) >= 40


@pytest.mark.parametrize("name", sorted(_capi._SIGNATURES))
def test_prototype_matches_the_header(header, name):
    assert name in header.functions, f"{name} is not declared in {HEADER.name}"
    ret, params = header.functions[name]
    args, res = _capi._SIGNATURES[name]
    want = [header.ctype(split_declaration(p)[0]) for p in params]
    assert len(args) == len(want), f"{name}: {len(args)} argtypes, the header has {params}"
    for i, (got, expected) in enumerate(zip(args, want)):
        assert got is expected, f"{name}: parameter {i} ({params[i]!r}) is {got.__name__}, " \
                                f"expected {expected.__name__}"
    assert res is header.ctype(ret), f"{name}: restype {res}, the header returns {ret!r}"


def test_every_function_python_calls_is_declared(header):
    # A function called without argtypes would get ctypes' defaults: ints for pointers.
    used = set()
    for path in PACKAGE.glob("*.py"):
        used |= set(re.findall(r"\bsy_\w+", path.read_text())) & set(header.functions)
    assert sorted(used - set(_capi._SIGNATURES)) == []


def test_status_names_are_the_c_enum(header):
    assert dict((n, v) for v, n in enumerate(_capi.STATUS_NAMES)) == header.enums["sy_status"]


def test_enum_constants_have_the_c_values(header):
    c = {name: value for enum in header.enums.values() for name, value in enum.items()}
    ours = {k: v for k, v in vars(_capi).items() if re.fullmatch(r"SY_[A-Z0-9_]+", k)}
    assert ours == c


def test_name_tables_follow_the_enums():
    assert _capi.BUFFER_KIND_NAMES == {_capi.SY_BUFFER_INPUT: "input",
                                       _capi.SY_BUFFER_OUTPUT: "output",
                                       _capi.SY_BUFFER_WEIGHT: "weight",
                                       _capi.SY_BUFFER_WORKSPACE: "workspace",
                                       _capi.SY_BUFFER_COUNTERS: "counters"}
    assert _capi.DTYPE_CODES == {"bf16": _capi.SY_DTYPE_BF16, "f16": _capi.SY_DTYPE_F16}
    assert _capi.LAYOUT_CODES == {"mma_sp": _capi.SY_LAYOUT_MMA_SP,
                                  "wgmma": _capi.SY_LAYOUT_WGMMA,
                                  "wgmma_halves": _capi.SY_LAYOUT_WGMMA_HALVES}


@pytest.mark.parametrize("struct", ["sy_weight_info", "sy_packed_weight"])
def test_struct_fields_match_the_header(header, struct):
    want = [(name, header.ctype(c)) for name, c in header.structs[struct]]
    assert getattr(_capi, struct)._fields_ == want
