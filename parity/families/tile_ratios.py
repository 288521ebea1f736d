"""Tile-grid candidates ("target ratios") and the closest-aspect-ratio choice shared by the dynamic-tiling
families (LFM2-VL, DeepSeek-OCR, Nemotron Nano VL), as each runtime builds and orders them.

Every runtime lists the (cols, rows) grids with ``min_tiles <= cols * rows <= max_tiles`` in loop order,
drops duplicates, and sorts them by area; then it walks the list keeping the grid whose aspect ratio is
closest to the image's, a later grid winning a tie when the image is larger than half its area. The sort
is where runtimes differ: grids of equal area keep an order that depends on the sort algorithm, and that
order decides exact ties. So the sort of each runtime is ported as it is:

- transformers / the authors' Python: ``sorted(set(...), key=area)`` -- stable, over the set's iteration
  order (``ratios_python_set``), or over the list order (``ratios_python_list``);
- llama.cpp (mtmd 0c1e570 ``get_target_ratios``): ``std::sort``, GCC libstdc++'s introsort
  (``sort_libstdcxx``: ``__introsort_loop`` with median-of-three pivots, then ``__final_insertion_sort``);
- Ollama (f63eea3): ``slices.SortFunc``, Go 1.26's pattern-defeating quicksort (``sort_pdq_go``, from
  ``src/slices/zsortanyfunc.go`` and ``sort.go``), or no sort at all (deepseekocr keeps loop order).

Both unstable sorts were checked against the real ``std::sort`` (g++ 12, libstdc++) and ``slices.SortFunc``
(go1.26.0) on every candidate list of 1..40 tiles and on random lists (tests/families/test_tile_ratios.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np

from parity.errors import ParityError

Grid = tuple[int, int]  # (cols, rows): the runtimes' (width, height) in tiles


def candidate_grids(min_tiles: int, max_tiles: int, min_n: int | None = None) -> list[Grid]:
    """Every (cols, rows) with min_tiles <= cols*rows <= max_tiles in the runtimes' loop order (n from
    ``min_n`` -- ``min_tiles`` unless given -- to max_tiles, then cols, then rows), first occurrences only."""
    seen: set[Grid] = set()
    out: list[Grid] = []
    for n in range(min_tiles if min_n is None else min_n, max_tiles + 1):
        for w in range(1, n + 1):
            for h in range(1, n + 1):
                if min_tiles <= w * h <= max_tiles and (w, h) not in seen:
                    seen.add((w, h))
                    out.append((w, h))
    return out


def area(g: Grid) -> int:
    return g[0] * g[1]


def ratios_python_set(min_tiles: int, max_tiles: int) -> list[Grid]:
    """``sorted(set(ratios), key=lambda x: x[0] * x[1])``: stable over the set's iteration order (the hashes of
    small int tuples are fixed, so this order is the same in every CPython run)."""
    ratios = [(w, h) for n in range(min_tiles, max_tiles + 1) for w in range(1, n + 1) for h in range(1, n + 1)
              if min_tiles <= w * h <= max_tiles]
    return sorted(set(ratios), key=area)


def ratios_python_list(min_tiles: int, max_tiles: int, min_n: int | None = None) -> list[Grid]:
    """``sorted(unique_list, key=area)``: stable over loop order."""
    return sorted(candidate_grids(min_tiles, max_tiles, min_n), key=area)


# -- GCC libstdc++ std::sort (bits/stl_algo.h) ---------------------------------------------------------------

_S_THRESHOLD = 16  # libstdc++ _S_threshold


def sort_libstdcxx(items: Sequence, less: Callable[[object, object], bool]) -> list:
    """``std::sort(first, last, comp)`` of GCC's libstdc++ on a copy of ``items``."""
    a = list(items)
    n = len(a)
    if n == 0:
        return a
    _introsort_loop(a, 0, n, 2 * (n.bit_length() - 1), less)  # std::__lg(n) * 2
    # __final_insertion_sort
    if n > _S_THRESHOLD:
        _insertion_sort(a, 0, _S_THRESHOLD, less)
        for i in range(_S_THRESHOLD, n):  # __unguarded_insertion_sort
            _unguarded_linear_insert(a, i, less)
    else:
        _insertion_sort(a, 0, n, less)
    return a


def _introsort_loop(a: list, first: int, last: int, depth: int, less) -> None:
    while last - first > _S_THRESHOLD:
        if depth == 0:  # the heap-sort fallback (__partial_sort) is not ported: say so rather than guess
            raise ParityError(f"std::sort of {last - first} grids hit introsort's depth limit (heap-sort "
                              "fallback not ported)")
        depth -= 1
        cut = _unguarded_partition_pivot(a, first, last, less)
        _introsort_loop(a, cut, last, depth, less)
        last = cut


def _unguarded_partition_pivot(a: list, first: int, last: int, less) -> int:
    mid = first + (last - first) // 2
    _move_median_to_first(a, first, first + 1, mid, last - 1, less)
    return _unguarded_partition(a, first + 1, last, first, less)


def _move_median_to_first(a: list, result: int, x: int, y: int, z: int, less) -> None:
    if less(a[x], a[y]):
        if less(a[y], a[z]):
            m = y
        elif less(a[x], a[z]):
            m = z
        else:
            m = x
    elif less(a[x], a[z]):
        m = x
    elif less(a[y], a[z]):
        m = z
    else:
        m = y
    a[result], a[m] = a[m], a[result]


def _unguarded_partition(a: list, first: int, last: int, pivot: int, less) -> int:
    while True:
        while less(a[first], a[pivot]):
            first += 1
        last -= 1
        while less(a[pivot], a[last]):
            last -= 1
        if not first < last:
            return first
        a[first], a[last] = a[last], a[first]
        first += 1


def _insertion_sort(a: list, first: int, last: int, less) -> None:
    for i in range(first + 1, last):
        if less(a[i], a[first]):
            val = a[i]
            a[first + 1:i + 1] = a[first:i]  # move_backward
            a[first] = val
        else:
            _unguarded_linear_insert(a, i, less)


def _unguarded_linear_insert(a: list, last: int, less) -> None:
    val = a[last]
    nxt = last - 1
    while less(val, a[nxt]):
        a[last] = a[nxt]
        last = nxt
        nxt -= 1
    a[last] = val


# -- Go slices.SortFunc (pdqsort, go1.26 src/slices/zsortanyfunc.go) -------------------------------------------

_U64 = (1 << 64) - 1


def sort_pdq_go(items: Sequence, cmp: Callable[[object, object], int]) -> list:
    """``slices.SortFunc(x, cmp)`` of Go 1.26 on a copy of ``items``."""
    a = list(items)
    _pdqsort(a, 0, len(a), len(a).bit_length(), cmp)  # bits.Len(uint(n))
    return a


def _pdqsort(d: list, a: int, b: int, limit: int, cmp) -> None:
    max_insertion = 12
    was_balanced, was_partitioned = True, True
    while True:
        length = b - a
        if length <= max_insertion:
            _go_insertion(d, a, b, cmp)
            return
        if limit == 0:  # heap-sort fallback
            _go_heapsort(d, a, b, cmp)
            return
        if not was_balanced:
            _go_break_patterns(d, a, b)
            limit -= 1
        pivot, hint = _go_choose_pivot(d, a, b, cmp)
        if hint == "decreasing":
            _go_reverse(d, a, b)
            pivot = (b - 1) - (pivot - a)
            hint = "increasing"
        if was_balanced and was_partitioned and hint == "increasing":
            if _go_partial_insertion(d, a, b, cmp):
                return
        if a > 0 and not cmp(d[a - 1], d[pivot]) < 0:
            a = _go_partition_equal(d, a, b, pivot, cmp)
            continue
        mid, already = _go_partition(d, a, b, pivot, cmp)
        was_partitioned = already
        left, right = mid - a, b - mid
        threshold = length // 8
        if left < right:
            was_balanced = left >= threshold
            _pdqsort(d, a, mid, limit, cmp)
            a = mid + 1
        else:
            was_balanced = right >= threshold
            _pdqsort(d, mid + 1, b, limit, cmp)
            b = mid


def _go_insertion(d: list, a: int, b: int, cmp) -> None:
    for i in range(a + 1, b):
        j = i
        while j > a and cmp(d[j], d[j - 1]) < 0:
            d[j], d[j - 1] = d[j - 1], d[j]
            j -= 1


def _go_sift_down(d: list, lo: int, hi: int, first: int, cmp) -> None:
    root = lo
    while True:
        child = 2 * root + 1
        if child >= hi:
            return
        if child + 1 < hi and cmp(d[first + child], d[first + child + 1]) < 0:
            child += 1
        if not cmp(d[first + root], d[first + child]) < 0:
            return
        d[first + root], d[first + child] = d[first + child], d[first + root]
        root = child


def _go_heapsort(d: list, a: int, b: int, cmp) -> None:
    first, hi = a, b - a
    for i in range((hi - 1) // 2, -1, -1):
        _go_sift_down(d, i, hi, first, cmp)
    for i in range(hi - 1, -1, -1):
        d[first], d[first + i] = d[first + i], d[first]
        _go_sift_down(d, 0, i, first, cmp)


def _go_partition(d: list, a: int, b: int, pivot: int, cmp) -> tuple[int, bool]:
    d[a], d[pivot] = d[pivot], d[a]
    i, j = a + 1, b - 1
    while i <= j and cmp(d[i], d[a]) < 0:
        i += 1
    while i <= j and not cmp(d[j], d[a]) < 0:
        j -= 1
    if i > j:
        d[j], d[a] = d[a], d[j]
        return j, True
    d[i], d[j] = d[j], d[i]
    i, j = i + 1, j - 1
    while True:
        while i <= j and cmp(d[i], d[a]) < 0:
            i += 1
        while i <= j and not cmp(d[j], d[a]) < 0:
            j -= 1
        if i > j:
            break
        d[i], d[j] = d[j], d[i]
        i, j = i + 1, j - 1
    d[j], d[a] = d[a], d[j]
    return j, False


def _go_partition_equal(d: list, a: int, b: int, pivot: int, cmp) -> int:
    d[a], d[pivot] = d[pivot], d[a]
    i, j = a + 1, b - 1
    while True:
        while i <= j and not cmp(d[a], d[i]) < 0:
            i += 1
        while i <= j and cmp(d[a], d[j]) < 0:
            j -= 1
        if i > j:
            return i
        d[i], d[j] = d[j], d[i]
        i, j = i + 1, j - 1


def _go_partial_insertion(d: list, a: int, b: int, cmp) -> bool:
    max_steps, shortest_shifting = 5, 50
    i = a + 1
    for _ in range(max_steps):
        while i < b and not cmp(d[i], d[i - 1]) < 0:
            i += 1
        if i == b:
            return True
        if b - a < shortest_shifting:
            return False
        d[i], d[i - 1] = d[i - 1], d[i]
        if i - a >= 2:
            for j in range(i - 1, 0, -1):
                if not cmp(d[j], d[j - 1]) < 0:
                    break
                d[j], d[j - 1] = d[j - 1], d[j]
        if b - i >= 2:
            for j in range(i + 1, b):
                if not cmp(d[j], d[j - 1]) < 0:
                    break
                d[j], d[j - 1] = d[j - 1], d[j]
    return False


def _go_break_patterns(d: list, a: int, b: int) -> None:
    length = b - a
    if length >= 8:
        r = length  # xorshift(length), uint64 state
        modulus = 1 << length.bit_length()  # nextPowerOfTwo
        for idx in range(a + (length // 4) * 2 - 1, a + (length // 4) * 2 + 2):
            r ^= (r << 13) & _U64
            r ^= r >> 7
            r ^= (r << 17) & _U64
            other = r & (modulus - 1)
            if other >= length:
                other -= length
            d[idx], d[a + other] = d[a + other], d[idx]


def _go_choose_pivot(d: list, a: int, b: int, cmp) -> tuple[int, str]:
    n = b - a
    swaps = [0]
    i, j, k = a + n // 4 * 1, a + n // 4 * 2, a + n // 4 * 3
    if n >= 8:
        if n >= 50:  # Tukey ninther
            i = _go_median(d, i - 1, i, i + 1, swaps, cmp)
            j = _go_median(d, j - 1, j, j + 1, swaps, cmp)
            k = _go_median(d, k - 1, k, k + 1, swaps, cmp)
        j = _go_median(d, i, j, k, swaps, cmp)
    if swaps[0] == 0:
        return j, "increasing"
    if swaps[0] == 12:
        return j, "decreasing"
    return j, "unknown"


def _go_order2(d: list, a: int, b: int, swaps: list, cmp) -> tuple[int, int]:
    if cmp(d[b], d[a]) < 0:
        swaps[0] += 1
        return b, a
    return a, b


def _go_median(d: list, a: int, b: int, c: int, swaps: list, cmp) -> int:
    a, b = _go_order2(d, a, b, swaps, cmp)
    b, c = _go_order2(d, b, c, swaps, cmp)
    a, b = _go_order2(d, a, b, swaps, cmp)
    return b


def _go_reverse(d: list, a: int, b: int) -> None:
    d[a:b] = d[a:b][::-1]


def ratios_libstdcxx(min_tiles: int, max_tiles: int) -> list[Grid]:
    """llama.cpp mtmd 0c1e570 ``get_target_ratios`` (LFM2, DeepSeek-OCR): loop order, then ``std::sort``
    by area."""
    return sort_libstdcxx(candidate_grids(min_tiles, max_tiles), lambda x, y: area(x) < area(y))


def ratios_go(min_tiles: int, max_tiles: int, min_n: int | None = None) -> list[Grid]:
    """Ollama f63eea3 ``targetRatios`` (lfm2) / ``nemotronTargetRatios``: loop order, then
    ``slices.SortFunc`` by area."""
    return sort_pdq_go(candidate_grids(min_tiles, max_tiles, min_n), lambda x, y: area(x) - area(y))


# -- choosing the grid -----------------------------------------------------------------------------------------

def closest_grid_f64(aspect: float, grids: Sequence[Grid], image_area: float, tile: int,
                     tie_area_of_best: bool = False) -> Grid:
    """The float64 walk (transformers, the authors' Python, Go): strictly closer wins; on an exact tie the
    later grid wins when ``image_area > 0.5 * tile**2 * area`` -- of the candidate, or with
    ``tie_area_of_best`` of the grid kept so far (Ollama's deepseekocr ``findBestAspectRatio``)."""
    best, best_diff = (1, 1), math.inf
    for g in grids:
        diff = abs(aspect - g[0] / g[1])
        if diff < best_diff:
            best, best_diff = g, diff
        elif diff == best_diff:
            ref = best if tie_area_of_best else g
            if image_area > 0.5 * (tile * tile * ref[0] * ref[1]):
                best = g
    return best


def closest_grid_f32(width: int, height: int, grids: Sequence[Grid], tile: int) -> Grid:
    """llama.cpp's ``find_closest_aspect_ratio``: the same walk in float32 (aspect = float(w) / h, the area
    ``float(width * height)`` in int then float, ``0.5f * target_area``)."""
    f32 = np.float32
    aspect = f32(width) / f32(height)
    image_area = f32(width * height)
    best, best_diff = (1, 1), f32(np.finfo(np.float32).max)
    for g in grids:
        diff = abs(aspect - f32(g[0]) / f32(g[1]))
        if diff < best_diff:
            best, best_diff = g, diff
        elif diff == best_diff and image_area > f32(0.5) * f32(tile * tile * g[0] * g[1]):
            best = g
    return best
