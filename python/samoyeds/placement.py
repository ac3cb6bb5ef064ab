"""Expert placement for expert parallelism: which rank holds which experts.

A :class:`Placement` maps each of ``E`` experts to exactly one of ``R`` ranks. Rank ``r``
holds ``placement.ranks[r]`` (global expert ids) in that order: local expert ``l`` of rank
``r`` is global expert ``placement.ranks[r][l]``. The default is contiguous slices
(:meth:`Placement.contiguous`: rank ``r`` holds ``[r * E/R, (r + 1) * E/R)``, so ``R`` must
divide ``E``); a placement map (:meth:`Placement.from_ranks`, per-rank lists, or
:meth:`Placement.from_owner`, the rank of each expert) spreads hot experts. Every
constructor validates: every expert placed exactly once, ranks in ``[0, R)``, no rank
without experts. Errors are :class:`~samoyeds.SamoyedsValueError` naming the problem.

No torch and no runtime library needed (``samoyeds-compile --expert-parallel`` uses it).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Dict, List, Sequence, Tuple

from ._capi import SamoyedsValueError, is_int, quote

__all__ = ["Placement", "format_hash"]

# The most ranks / experts a placement may name (bounds the work of validation).
MAX_EXPERTS = 1 << 20
MAX_RANKS = 1 << 16


def _ids(xs: Sequence[int], limit: int = 8) -> str:
    xs = sorted(xs)
    text = ", ".join(str(x) for x in xs[:limit])
    return text + (f", ... ({len(xs)} in all)" if len(xs) > limit else "")


def _count(name: str, value, hi: int) -> int:
    if not is_int(value) or not 1 <= value <= hi:
        raise SamoyedsValueError(f"placement: {name} must be an integer in [1, {hi}], got "
                                 f"{quote(value)}")
    return value


@dataclass(frozen=True)
class Placement:
    """``experts`` experts over ``world_size`` ranks; ``ranks[r]``: the global ids of rank
    ``r``'s experts, in local-id order. Build it with a classmethod (they validate)."""

    experts: int
    world_size: int
    ranks: Tuple[Tuple[int, ...], ...]

    @classmethod
    def contiguous(cls, experts: int, world_size: int) -> "Placement":
        """Rank r holds experts [r * E/R, (r + 1) * E/R). R must divide E."""
        E = _count("experts", experts, MAX_EXPERTS)
        R = _count("world size", world_size, MAX_RANKS)
        if E % R:
            raise SamoyedsValueError(
                f"placement: {E} experts cannot be split contiguously over {R} ranks "
                f"({E} % {R} = {E % R}); use a world size that divides {E} or pass a "
                f"placement map")
        per = E // R
        return cls(E, R, tuple(tuple(range(r * per, (r + 1) * per)) for r in range(R)))

    @classmethod
    def from_ranks(cls, ranks: Sequence[Sequence[int]], experts: int) -> "Placement":
        """Per-rank lists of global expert ids (rank r's list gives its local order);
        every id in [0, experts) exactly once over all lists, no empty list."""
        E = _count("experts", experts, MAX_EXPERTS)
        if isinstance(ranks, (str, bytes)) or not isinstance(ranks, Sequence):
            raise SamoyedsValueError(f"placement: expected one list of experts per rank, got "
                                     f"{quote(ranks)}")
        R = _count("world size (number of lists)", len(ranks), MAX_RANKS)
        seen: Dict[int, int] = {}
        dup: List[str] = []
        out = []
        for r, lst in enumerate(ranks):
            if isinstance(lst, (str, bytes)) or not isinstance(lst, Sequence):
                raise SamoyedsValueError(f"placement: rank {r}: expected a list of expert ids, "
                                         f"got {quote(lst)}")
            if not lst:
                raise SamoyedsValueError(f"placement: rank {r} holds no experts (every rank "
                                         f"needs at least one)")
            for e in lst:
                if not is_int(e) or not 0 <= e < E:
                    raise SamoyedsValueError(f"placement: rank {r}: expert {quote(e)} "
                                             f"({type(e).__name__}) is not an integer in "
                                             f"[0, {E})")
                if e in seen:
                    dup.append(f"expert {e} on ranks {seen[e]} and {r}")
                else:
                    seen[e] = r
            out.append(tuple(lst))
        if dup:
            raise SamoyedsValueError(f"placement: experts placed more than once: "
                                     f"{'; '.join(dup[:4])}"
                                     f"{f' (and {len(dup) - 4} more)' if len(dup) > 4 else ''}")
        missing = [e for e in range(E) if e not in seen]
        if missing:
            raise SamoyedsValueError(f"placement: experts on no rank: {_ids(missing)}")
        return cls(E, R, tuple(out))

    @classmethod
    def from_owner(cls, owner: Sequence[int], world_size: int) -> "Placement":
        """``owner[e]``: the rank of expert e (local order: increasing global id)."""
        R = _count("world size", world_size, MAX_RANKS)
        if isinstance(owner, (str, bytes)) or not isinstance(owner, Sequence):
            raise SamoyedsValueError(f"placement: expected the rank of each expert, got "
                                     f"{quote(owner)}")
        E = _count("experts (length of the map)", len(owner), MAX_EXPERTS)
        lists: List[List[int]] = [[] for _ in range(R)]
        for e, r in enumerate(owner):
            if not is_int(r) or not 0 <= r < R:
                raise SamoyedsValueError(f"placement: expert {e} is on rank {quote(r)}, out of "
                                         f"range for world size {R}")
            lists[r].append(e)
        return cls.from_ranks(lists, E)

    @classmethod
    def from_json(cls, obj) -> "Placement":
        """The inverse of :meth:`to_json`."""
        if not isinstance(obj, dict):
            raise SamoyedsValueError(f"placement: expected an object, got {quote(obj)}")
        p = cls.from_ranks(obj.get("ranks"), obj.get("experts"))
        if obj.get("world_size", p.world_size) != p.world_size:
            raise SamoyedsValueError(f"placement: world_size {quote(obj.get('world_size'))} "
                                     f"but {p.world_size} lists of experts")
        return p

    def to_json(self) -> dict:
        """{"experts", "world_size", "ranks"}: what a manifest stores."""
        return {"experts": self.experts, "world_size": self.world_size,
                "ranks": [list(r) for r in self.ranks]}

    def owner(self) -> List[int]:
        """The rank of each expert."""
        out = [0] * self.experts
        for r, lst in enumerate(self.ranks):
            for e in lst:
                out[e] = r
        return out

    def local_index(self) -> List[int]:
        """The local id of each expert on its rank."""
        out = [0] * self.experts
        for lst in self.ranks:
            for i, e in enumerate(lst):
                out[e] = i
        return out

    def is_contiguous(self) -> bool:
        """Whether this is :meth:`contiguous`'s placement."""
        try:
            return self == Placement.contiguous(self.experts, self.world_size)
        except SamoyedsValueError:
            return False

    def digest(self) -> int:
        """A 63-bit hash of the placement (exchanged between ranks to check they agree)."""
        raw = json.dumps(self.to_json(), separators=(",", ":")).encode()
        return int.from_bytes(hashlib.sha256(raw).digest()[:8], "little") >> 1

    def describe(self) -> str:
        """E.g. "256 experts over 2 ranks (contiguous, 128 per rank)"."""
        kind = "contiguous" if self.is_contiguous() else "map"
        sizes = sorted({len(r) for r in self.ranks})
        per = "/".join(str(s) for s in sizes)
        return f"{self.experts} experts over {self.world_size} ranks ({kind}, {per} per rank)"


def format_hash(text: str) -> int:
    """A 63-bit hash of a format description (exchanged between ranks)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "little") >> 1
