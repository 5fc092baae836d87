#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# `vidrec export` and `vidrec import` against NumPy and SciPy themselves:
# NumPy reads what export writes (arrays, dtypes, ids checked against the
# model file read independently, in Python), the implicit .npz holds exactly
# the keys and dtypes implicit's load() turns into attributes, SciPy loads
# the dataset's matrix; NumPy writes the files import reads (float32/64,
# big-endian, Fortran order, savez and savez_compressed), and export ->
# import -> recommend answers byte for byte what the trained model answers.
# Hostile inputs exit 1 naming the file. Without /usr/bin/python3 + NumPy
# (scripts/deps.sh installs python3-numpy and python3-scipy) the NumPy parts
# are skipped with a message.
# Usage: interop_test.sh PATH/TO/vidrec PROJECT_ROOT
VIDREC=$1
ROOT=$2
. "$ROOT/tests/e2e/lib.sh"

taste_log 40 25 7 >"$WORK/log.csv"
"$VIDREC" prepare "$WORK/log.csv" -o "$WORK/d.vrd" -q &&
  "$VIDREC" train "$WORK/d.vrd" -o "$WORK/m.vrm" --factors 6 --iterations 5 --regularization 0.05 --alpha 3 -q ||
  { echo "setup failed"; exit 1; }
M=$WORK/m.vrm
E=$WORK/exp

# --- export: the files, and the round trip through import ------------------
expect_exit 0 "export model" -- "$VIDREC" export "$M" -o "$E"
for f in user_factors.npy item_factors.npy user_ids.txt item_ids.txt model.npz meta.json; do
  [ -s "$E/$f" ] && pass || fail "export wrote no $f"
done
VIDEOS=$("$VIDREC" inspect --json "$M" | grep -o '"videos": [0-9]*' | head -1 | grep -o '[0-9]*$')
expect_eq "$(wc -l <"$E/user_ids.txt") $(wc -l <"$E/item_ids.txt")" "40 $VIDEOS" "one id per line"
expect_eq "$(head -2 "$E/user_ids.txt" | tr '\n' ' ')" "user000 user001 " "ids in row (id) order"
expect_exit 0 "export dataset" -- "$VIDREC" export "$WORK/d.vrd" -o "$WORK/dexp" -q
[ -s "$WORK/dexp/user_items.npz" ] && pass || fail "dataset export wrote no user_items.npz"
# --format: one form of the factors, the same bytes as in the full export.
expect_exit 0 "export --format npy" -- "$VIDREC" export "$M" -o "$WORK/fnpy" --format npy -q
expect_eq "$(ls "$WORK/fnpy" | tr '\n' ' ')" "item_factors.npy item_ids.txt meta.json user_factors.npy user_ids.txt " "npy: no model.npz"
cmp -s "$E/user_factors.npy" "$WORK/fnpy/user_factors.npy" && pass || fail "--format npy: other factors"
expect_exit 0 "export --format npz" -- "$VIDREC" export "$M" -o "$WORK/fnpz" --format NPZ -q
expect_eq "$(ls "$WORK/fnpz" | tr '\n' ' ')" "item_ids.txt meta.json model.npz user_ids.txt " "npz: no .npy files"
cmp -s "$E/model.npz" "$WORK/fnpz/model.npz" && pass || fail "--format npz: another model.npz"
expect_exit 2 "a dataset has no .npy form" -- "$VIDREC" export "$WORK/d.vrd" -o "$WORK/fx" --format npy
expect_exit 2 "unknown format" -- "$VIDREC" export "$M" -o "$WORK/fx" --format csv

# recommend ARGS...: every user's answer of a model, to compare byte for byte.
"$VIDREC" recommend --model "$M" --all -k 10 >"$WORK/rec.orig" || fail "recommend on the trained model"
for src in "$E" "$WORK/fnpz" "--implicit $E/model.npz --user-ids $E/user_ids.txt --item-ids $E/item_ids.txt"; do
  # shellcheck disable=SC2086 # $src is two forms of the same arguments
  expect_exit 0 "import $src" -- "$VIDREC" import $src --dataset "$WORK/d.vrd" -o "$WORK/i.vrm"
  expect_contains "$WORK/err" "40 users, $VIDEOS videos, 6 factors" "import summary"
  "$VIDREC" recommend --model "$WORK/i.vrm" --all -k 10 >"$WORK/rec.imp"
  if cmp -s "$WORK/rec.orig" "$WORK/rec.imp" && [ -s "$WORK/rec.orig" ]; then pass; else fail "recommendations differ after import $src"; fi
  expect_exit 0 "similar on the imported model" -- "$VIDREC" similar --model "$WORK/i.vrm" --video vid003 -k 5
  "$VIDREC" similar --model "$M" --video vid003 -k 5 >"$WORK/sim.orig"
  cmp -s "$WORK/out" "$WORK/sim.orig" && pass || fail "similar differs after import $src"
done
# Without the dataset nothing is excluded: the answers are the --include-seen ones.
expect_exit 0 "import without a dataset" -- "$VIDREC" import "$E" -o "$WORK/nods.vrm"
"$VIDREC" recommend --model "$M" --user user005 -k 8 --include-seen >"$WORK/a"
"$VIDREC" recommend --model "$WORK/nods.vrm" --user user005 -k 8 >"$WORK/b"
cmp -s "$WORK/a" "$WORK/b" && pass || fail "import without a dataset: $(cat "$WORK/b") vs $(cat "$WORK/a")"
# Exporting the imported model gives the same arrays again.
"$VIDREC" export "$WORK/i.vrm" -o "$WORK/exp2" -q
for f in user_factors.npy item_factors.npy user_ids.txt item_ids.txt model.npz; do
  cmp -s "$E/$f" "$WORK/exp2/$f" && pass || fail "re-export: $f differs"
done

# --- hostile inputs: exit 1, the file named ------------------------------------
H=$WORK/h
mkdir -p "$H"
cp "$E"/* "$H"/
head -c 100 "$E/user_factors.npy" >"$H/cut.npy"
expect_exit 1 "truncated npy" -- "$VIDREC" import "$H" --user-factors "$H/cut.npy" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/cut.npy: truncated" "truncated npy named"
printf 'hello, not numpy\n' >"$H/text.npy"
expect_exit 1 "wrong magic" -- "$VIDREC" import "$H" --item-factors "$H/text.npy" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/text.npy: not a .npy file" "wrong magic named"
head -39 "$E/user_ids.txt" >"$H/short.txt"
expect_exit 1 "shape mismatch" -- "$VIDREC" import "$H" --user-ids "$H/short.txt" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/short.txt: 39 ids, but $H/user_factors.npy has 40 rows" "mismatch named"
{ head -39 "$E/user_ids.txt"; echo user003; } >"$H/dup.txt"
expect_exit 1 "duplicate id" -- "$VIDREC" import "$H" --user-ids "$H/dup.txt" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/dup.txt:40: id 'user003' repeats line 4" "duplicate named"
{ head -39 "$E/user_ids.txt"; echo stranger; } >"$H/other.txt"
expect_exit 1 "id not in the dataset" -- "$VIDREC" import "$H" --user-ids "$H/other.txt" --dataset "$WORK/d.vrd" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/other.txt:40: user id 'stranger' is not in the dataset" "stranger named"
head -c 3000 "$E/model.npz" >"$H/cut.npz"
expect_exit 1 "truncated npz" -- "$VIDREC" import --implicit "$H/cut.npz" --user-ids "$E/user_ids.txt" --item-ids "$E/item_ids.txt" -o "$WORK/x.vrm"
expect_contains "$WORK/err" "$H/cut.npz: not a readable .npz (zip) archive" "truncated npz named"
expect_exit 1 "a dataset is not a model's input" -- "$VIDREC" export "$E/user_ids.txt" -o "$WORK/x"
expect_contains "$WORK/err" "$E/user_ids.txt: not a vidrec model (.vrm) or dataset (.vrd) file" "export refuses"
expect_exit 2 "no factors named" -- "$VIDREC" import --user-ids "$E/user_ids.txt" --item-ids "$E/item_ids.txt" -o "$WORK/x.vrm"
expect_exit 2 "output naming an input" -- "$VIDREC" import "$E" -o "$E/item_ids.txt"
[ ! -e "$WORK/x.vrm" ] && pass || fail "a refused import left a model"

# --- NumPy and SciPy ----------------------------------------------------------
PY=/usr/bin/python3
if ! "$PY" -c 'import numpy' 2>/dev/null; then
  echo "SKIP: the NumPy checks ($PY with numpy is missing; scripts/deps.sh installs python3-numpy)"
  finish
  exit
fi

# (1) NumPy reads the export; the model file is read here without vidrec.
cat >"$WORK/check_export.py" <<'PY'
import json, struct, sys
import numpy as np
model, d = sys.argv[1], sys.argv[2]
raw = open(model, "rb").read()
assert raw[:4] == b"VRMD"
header_size, count = struct.unpack_from("<II", raw, 8)
sections = {}
for i in range(count):
    tag, _, off, size, _ = struct.unpack_from("<4sIQQQ", raw, header_size + 32 * i)
    sections[tag.decode()] = raw[off:off + size]
users, videos, f, _ = struct.unpack_from("<4Q", sections["DIMS"])
def ids(off, blob, n):
    o = np.frombuffer(sections[off], "<u8", n + 1)
    return [sections[blob][o[i]:o[i + 1]].decode() for i in range(n)]
U = np.frombuffer(sections["UFAC"], "<f4", users * f).reshape(users, f)
V = np.frombuffer(sections["VFAC"], "<f4", videos * f).reshape(videos, f)
u, v = np.load(d + "/user_factors.npy"), np.load(d + "/item_factors.npy")
assert u.dtype == np.float32 and v.dtype == np.float32, (u.dtype, v.dtype)
assert u.flags.c_contiguous and u.shape == (users, f) and v.shape == (videos, f), (u.shape, v.shape)
assert np.array_equal(u, U) and np.array_equal(v, V), "factors differ from the model file"
assert open(d + "/user_ids.txt").read().split("\n") == ids("UOFF", "UIDS", users) + [""]
assert open(d + "/item_ids.txt").read().split("\n") == ids("VOFF", "VIDS", videos) + [""]
# implicit's AlternatingLeastSquares.load(), as it reads the archive.
want = {"user_factors": "<f4", "item_factors": "<f4", "regularization": "<f8", "factors": "<i8",
        "num_threads": "<i8", "iterations": "<i8", "use_native": "|b1", "use_cg": "|b1", "cg_steps": "<i8",
        "calculate_training_loss": "|b1", "dtype": "<U7", "random_state": "<i8", "alpha": "<f8"}
attrs = {}
with np.load(d + "/model.npz", allow_pickle=False) as data:
    assert sorted(data.keys()) == sorted(want), sorted(data.keys())
    for k, a in data.items():
        assert a.dtype.str == want[k], (k, a.dtype.str)
        attrs[k] = np.dtype(str(a)) if k == "dtype" else a.item() if a.shape == () else a
assert np.array_equal(attrs["user_factors"], U) and np.array_equal(attrs["item_factors"], V)
h = json.load(open(d + "/meta.json"))["hyperparameters"]
assert attrs["factors"] == f == h["factors"] and attrs["iterations"] == h["iterations"] == 5
assert attrs["regularization"] == h["regularization"] == 0.05 and attrs["alpha"] == h["alpha"] == 3
assert attrs["dtype"] == np.float32 and attrs["random_state"] == h["seed"] and attrs["use_cg"] is True
print("ok")
PY
"$PY" "$WORK/check_export.py" "$M" "$E" >"$WORK/py.out" 2>&1 && pass || fail "NumPy check of the export: $(tail -3 "$WORK/py.out")"

if "$PY" -c 'import scipy.sparse' 2>/dev/null; then
  "$VIDREC" inspect --dump csv "$WORK/d.vrd" >"$WORK/pairs.csv"
  "$PY" - "$WORK/dexp" "$WORK/pairs.csv" >"$WORK/py.out" 2>&1 <<'PY' && pass || fail "SciPy check of the dataset export: $(tail -3 "$WORK/py.out")"
import csv, sys
import numpy as np, scipy.sparse
d, pairs = sys.argv[1], sys.argv[2]
m = scipy.sparse.load_npz(d + "/user_items.npz")
users, items = open(d + "/user_ids.txt").read().split(), open(d + "/item_ids.txt").read().split()
assert m.format == "csr" and m.shape == (len(users), len(items)) and m.dtype == np.float32, (m.format, m.shape, m.dtype)
assert m.indices.dtype == np.int32 and m.indptr.dtype == np.int32
rows = list(csv.DictReader(open(pairs)))
assert len(rows) == m.nnz, (len(rows), m.nnz)
u, v = {x: i for i, x in enumerate(users)}, {x: i for i, x in enumerate(items)}
col = [k for k in rows[0] if k not in ("userId", "videoId")]
w = next(k for k in col if "weight" in k.lower() or "value" in k.lower())
for r in rows:
    assert m[u[r["userId"]], v[r["videoId"]]] == np.float32(r[w]), r
print("ok")
PY
else
  echo "SKIP: the SciPy check ($PY with scipy is missing; scripts/deps.sh installs python3-scipy)"
fi

# (2) NumPy writes what import reads: every layout gives the same model.
"$PY" - "$E" "$WORK/np" <<'PY' || fail "NumPy could not write the test files"
import os, sys
import numpy as np
e, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
u, v = np.load(e + "/user_factors.npy"), np.load(e + "/item_factors.npy")
np.save(out + "/u64.npy", u.astype(np.float64))
np.save(out + "/u_big.npy", u.astype(">f4"))
np.save(out + "/u_fortran.npy", np.asfortranarray(u))
np.save(out + "/v64_big_fortran.npy", np.asfortranarray(v.astype(">f8")))
np.savez(out + "/stored.npz", user_factors=u, item_factors=v, factors=u.shape[1])
np.savez_compressed(out + "/deflated.npz", user_factors=u.astype(np.float64), item_factors=v)
np.save(out + "/ints.npy", np.ones(u.shape, np.int64))
bad = u.copy(); bad[3, 2] = np.nan
np.save(out + "/nan.npy", bad)
np.save(out + "/flat.npy", u.ravel())
np.save(out + "/narrow.npy", u[:, :4])
# Rows shuffled with their ids: import sorts them back.
p = np.random.default_rng(1).permutation(len(u))
np.save(out + "/u_shuffled.npy", u[p])
ids = open(e + "/user_ids.txt").read().split("\n")[:-1]
open(out + "/shuffled_ids.txt", "w").write("".join(ids[i] + "\n" for i in p))
PY
N=$WORK/np
IDS=(--user-ids "$E/user_ids.txt" --item-ids "$E/item_ids.txt" --dataset "$WORK/d.vrd")
same_model() {  # DESCRIPTION import-args...: the import recommends what the trained model does
  local what=$1
  shift
  expect_exit 0 "import $what" -- "$VIDREC" import "$@" "${IDS[@]}" -o "$WORK/n.vrm"
  "$VIDREC" recommend --model "$WORK/n.vrm" --all -k 10 >"$WORK/rec.n"
  cmp -s "$WORK/rec.orig" "$WORK/rec.n" && pass || fail "import $what recommends otherwise"
}
same_model "float64" --user-factors "$N/u64.npy" --item-factors "$E/item_factors.npy"
same_model "big-endian" --user-factors "$N/u_big.npy" --item-factors "$E/item_factors.npy"
same_model "Fortran order" --user-factors "$N/u_fortran.npy" --item-factors "$E/item_factors.npy"
same_model "big-endian float64 Fortran" --user-factors "$E/user_factors.npy" --item-factors "$N/v64_big_fortran.npy"
same_model "np.savez" --implicit "$N/stored.npz"
same_model "np.savez_compressed" --implicit "$N/deflated.npz"
expect_exit 0 "import shuffled rows" -- "$VIDREC" import --user-factors "$N/u_shuffled.npy" --item-factors "$E/item_factors.npy" \
  --user-ids "$N/shuffled_ids.txt" --item-ids "$E/item_ids.txt" --dataset "$WORK/d.vrd" -o "$WORK/n.vrm"
"$VIDREC" recommend --model "$WORK/n.vrm" --all -k 10 >"$WORK/rec.n"
cmp -s "$WORK/rec.orig" "$WORK/rec.n" && pass || fail "shuffled rows recommend otherwise"

refused() {  # DESCRIPTION MESSAGE import-args...
  local what=$1 msg=$2
  shift 2
  expect_exit 1 "$what" -- "$VIDREC" import "$@" "${IDS[@]}" -o "$WORK/r.vrm"
  expect_contains "$WORK/err" "$msg" "$what: message"
}
refused "int64 factors" "$N/ints.npy: dtype <i8: expected float32 or float64" --user-factors "$N/ints.npy" --item-factors "$E/item_factors.npy"
refused "NaN factor" "$N/nan.npy: row 3 column 2 is NaN" --user-factors "$N/nan.npy" --item-factors "$E/item_factors.npy"
refused "1-D factors" "$N/flat.npy: expected a 2-D array, got shape (240,)" --user-factors "$N/flat.npy" --item-factors "$E/item_factors.npy"
refused "factor counts differ" "$N/narrow.npy has 4 factors, $E/item_factors.npy 6" --user-factors "$N/narrow.npy" --item-factors "$E/item_factors.npy"
refused "npz without item factors" "$N/u64.npy" --implicit "$N/u64.npy"
[ ! -e "$WORK/r.vrm" ] && pass || fail "a refused import left a model"

finish
