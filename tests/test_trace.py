import hashlib
import json

import numpy as np
import pytest
import xxhash

from parity.trace import StageRecord, Trace, TraceBuilder, canonical_bytes, sealed

#: one value of each kind: a transposed big-endian array, a ragged tuple, a plan dict
STAGE_VALUES = [np.arange(24, dtype=">f4").reshape(2, 3, 4).transpose(2, 0, 1),
                (np.zeros((2, 3), np.uint8), np.ones((1, 5), np.int64)),
                {"grid": [1, 2], "note": "é"}]


class TestStageRecord:
    def test_hashes_are_of_little_endian_c_order_bytes(self):
        arr = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
        rec = StageRecord("pack", arr, "tiles,C,H,W")
        raw = arr.astype("<f4").tobytes(order="C")
        assert rec.sha1 == hashlib.sha1(raw).hexdigest()
        assert rec.sha256 == hashlib.sha256(raw).hexdigest()
        assert rec.xxh3_128 == xxhash.xxh3_128(raw).hexdigest()

    @pytest.mark.parametrize("value", STAGE_VALUES, ids=["array", "ragged", "plan"])
    def test_the_fast_hash_is_xxh3_128_of_the_same_bytes(self, value):
        rec = StageRecord("x", value, "any")
        raw = canonical_bytes(value)
        assert rec.xxh3_128 == xxhash.xxh3_128(raw).hexdigest() and len(rec.xxh3_128) == 32
        assert rec.sha256 == hashlib.sha256(raw).hexdigest()

    def test_to_dict_takes_only_the_hashes_asked_for(self):
        rec = StageRecord("x", np.arange(6, dtype=np.uint8), "N")
        d = rec.to_dict(hashes=("xxh3_128",))
        assert d["xxh3_128"] == rec.xxh3_128 and "sha256" not in d and "sha1" not in d
        assert "sha256" not in rec.__dict__ and "sha1" not in rec.__dict__  # never computed
        assert set(rec.to_dict()) >= {"sha1", "sha256"} and "xxh3_128" not in rec.to_dict()

    def test_big_endian_input_hashes_as_little_endian(self):
        arr = np.arange(10, dtype=">f4")
        assert StageRecord("x", arr, "N").sha1 == StageRecord("x", arr.astype("<f4"), "N").sha1

    def test_non_contiguous_input_hashes_as_c_order(self):
        arr = np.arange(12, dtype=np.uint8).reshape(3, 4)
        assert StageRecord("x", arr.T, "HW").sha1 == hashlib.sha1(np.ascontiguousarray(arr.T).tobytes()).hexdigest()

    @pytest.mark.parametrize("make", [lambda a: a.T, lambda a: np.asfortranarray(a), lambda a: a.astype(">u2")],
                             ids=["transposed", "fortran", "big-endian"])
    def test_the_copy_is_in_canonical_layout(self, make):
        """The record's copy is already C order, little-endian: the bytes hashed are its memory, no second copy."""
        value = StageRecord("x", make(np.arange(12, dtype=np.uint16).reshape(3, 4)), "HW").value
        assert value.flags.c_contiguous and value.dtype.byteorder in "=<|"
        assert np.shares_memory(value, np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")))

    @pytest.mark.parametrize("value", STAGE_VALUES, ids=["array", "ragged", "plan"])
    def test_nbytes_and_json_shape(self, value):
        rec = StageRecord("x", value, "any")
        assert rec.nbytes == len(canonical_bytes(rec.value))
        assert rec.to_dict()["shape"] == rec.shape_json == json.loads(json.dumps(rec.shape_json))

    def test_value_is_a_read_only_copy(self):
        arr = np.zeros((2, 2), np.uint8)
        rec = StageRecord("x", arr, "HW")
        arr[0, 0] = 9
        assert rec.value[0, 0] == 0
        with pytest.raises(ValueError):
            rec.value[0, 0] = 1

    def test_plan_is_hashed_as_sorted_compact_json(self):
        rec = StageRecord("plan", {"b": [1, 2], "a": 3}, "plan")
        assert rec.kind == "plan" and rec.dtype == "json"
        assert rec.sha1 == hashlib.sha1(b'{"a":3,"b":[1,2]}').hexdigest()

    def test_ragged_concatenates_parts_in_order(self):
        parts = (np.ones((2, 2), np.uint8), np.zeros((1, 3), np.uint8))
        rec = StageRecord("resize", parts, "HWC")
        assert rec.kind == "ragged" and rec.shape == [(2, 2), (1, 3)]
        assert rec.sha1 == hashlib.sha1(canonical_bytes(parts[0]) + canonical_bytes(parts[1])).hexdigest()


class TestTrace:
    def test_lookup_by_name_and_order_kept(self):
        tb = TraceBuilder()
        tb.add("decode", np.zeros((1, 1, 3), np.uint8), "HWC")
        tb.add("plan", {"k": 1}, "plan")
        tr = tb.build("p", "i", "v", "img.png")
        assert tr.names == ["decode", "plan"] and tr.plan == {"k": 1}
        with pytest.raises(KeyError, match="has: decode, plan"):
            tr["pack"]

    def test_duplicate_stage_names_rejected(self):
        rec = StageRecord("plan", {}, "plan")
        with pytest.raises(ValueError, match="duplicate"):
            Trace("p", "i", "v", "img", (rec, rec))


class TestRecordsCannotChange:
    """A record keeps an array without copying only when nothing can write to its memory."""

    def test_a_writable_array_is_copied(self):
        a = np.arange(12, dtype=np.uint8)
        r = StageRecord("x", a, "flat")
        a[0] = 99
        assert r.value[0] == 0 and not r.value.flags.writeable

    def test_a_read_only_view_of_a_writable_array_is_copied(self):
        a = np.arange(12, dtype=np.uint8)
        v = a.reshape(3, 4)
        v.setflags(write=False)
        r = StageRecord("x", v, "flat")
        a[0] = 99
        assert r.value[0, 0] == 0 and r.value is not v

    def test_a_read_only_view_of_a_read_only_owner_is_kept(self):
        a = np.arange(12, dtype=np.uint8)
        a.setflags(write=False)
        v = a.reshape(3, 4)
        assert not v.flags.writeable
        assert StageRecord("x", v, "flat").value is v

    def test_a_sealed_new_array_is_kept_and_cannot_be_written(self):
        a = sealed(np.stack([np.zeros(3, np.uint8), np.ones(3, np.uint8)]))
        r = StageRecord("x", a, "rows")
        assert r.value is a
        with pytest.raises(ValueError, match="read-only"):
            a[0, 0] = 9

    def test_sealing_a_view_changes_nothing_and_it_is_copied(self):
        owner = np.arange(12, dtype=np.uint8)
        v = sealed(owner.reshape(3, 4))
        assert v.flags.writeable and owner.flags.writeable
        r = StageRecord("x", v, "flat")
        owner[0] = 99
        assert r.value is not v and r.value[0, 0] == 0

    def test_a_sealed_ragged_value_keeps_its_new_parts_and_copies_its_views(self):
        new, owner = np.zeros((2, 2), np.uint8), np.ones((4, 2), np.uint8)
        parts = sealed((new, owner[:2]))
        kept = StageRecord("x", parts, "HW").value
        assert kept[0] is new and kept[1] is not parts[1]
        owner[:] = 5
        assert kept[1].tobytes() == bytes([1]) * 4

    def test_hashes_taken_later_are_of_what_was_recorded(self):
        """Array hashes are taken on first use (the array is read-only by then); a plan dict, which stays
        mutable, is hashed when recorded."""
        a = np.arange(12, dtype=np.uint8)
        r = StageRecord("x", a, "flat")
        a[:] = 7
        assert r.sha256 == hashlib.sha256(np.arange(12, dtype=np.uint8).tobytes()).hexdigest()
        plan = StageRecord("plan", {"grid": [1, 2]}, "plan")
        plan.value["grid"] = [2, 1]
        raw = b'{"grid":[1,2]}'
        assert plan.sha256 == hashlib.sha256(raw).hexdigest() and plan.xxh3_128 == xxhash.xxh3_128(raw).hexdigest()
