#!/usr/bin/env bash
# Regenerates the scikit-learn fixtures in testdata/sklearn/: models fitted on
# the lung data and on the synthetic demo cohort, written as pickles (protocols
# 2-5), joblib files and MLflow model directories, with scikit-learn's own
# predict_proba on held-out rows; plus hostile files for the decoder's safety
# tests. See README.md.
#
# Usage: scripts/sklearn/generate.sh   (from any directory)
#
# The synthetic cohort comes from the caresignal command built from the working
# tree; with REFERENCE_REV set (e.g. REFERENCE_REV=HEAD) it is built from that
# git revision instead, so that uncommitted edits do not affect it.
#
# The case anchor_flask is the model of the flask-sklearn reference stack
# (ANCHOR_DIR, read only): its gen_data.py and train.py run in a copy, as
# scripts/loadbench/run.sh runs them, and what train.py pickles is kept.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/sklearn"
lung="$root/testdata/reference/lung.csv"
python=/usr/bin/python3
anchor_dir=${ANCHOR_DIR:-/work/shared/anchors/flask-sklearn}
start=$SECONDS

# The same files on any machine: C locale, single-threaded OpenMP and linear
# algebra (make_fixtures.py insists), no user-level Python configuration.
export LC_ALL=C
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

have_tools() {
  [ -x "$python" ] &&
    "$python" -I -c 'import numpy, scipy, pandas, sklearn, joblib, yaml' >/dev/null 2>&1
}

. "$here/../lib/packages.sh"
ensure_packages generate.sh "scikit-learn, joblib, pandas and PyYAML" have_tools python3 python3-numpy python3-scipy python3-pandas python3-sklearn python3-joblib python3-yaml
command -v go >/dev/null 2>&1 || { echo "generate.sh: go is not on PATH" >&2; exit 1; }
[ -f "$lung" ] || { echo "generate.sh: $lung is missing (scripts/reference/generate.sh writes it)" >&2; exit 1; }
for f in gen_data.py scoring.py train.py; do
  [ -f "$anchor_dir/$f" ] || { echo "generate.sh: no $f in $anchor_dir; set ANCHOR_DIR to the flask-sklearn reference stack" >&2; exit 1; }
done

# The fixtures were made with these versions; others change the pickles and
# may change the last digits of the probabilities.
versions="$("$python" -I -c 'import platform, numpy, sklearn, joblib; print(platform.python_version(), numpy.__version__, sklearn.__version__, joblib.__version__)')"
if [ "$versions" != "3.11.2 1.24.2 1.2.1 1.2.0" ]; then
  echo "generate.sh: warning: Python, NumPy, scikit-learn, joblib are $versions, not 3.11.2 1.24.2 1.2.1 1.2.0" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== synthetic cohort (caresignal generate, etl, extract)"
src="$root"
if [ -n "${REFERENCE_REV:-}" ]; then
  src="$work/src"
  mkdir "$src"
  git -C "$root" archive "$REFERENCE_REV" | tar -x -C "$src"
  echo "building caresignal from $REFERENCE_REV ($(git -C "$root" rev-parse --short "$REFERENCE_REV"))"
fi
(cd "$src" && go build -o "$work/caresignal" ./cmd/caresignal)
"$work/caresignal" generate --patients 1500 --seed 7 --as-of 2026-11-01 --data-dir "$work"
"$work/caresignal" etl --data-dir "$work"
"$work/caresignal" extract --data-dir "$work" --out "$work/raw.csv"

echo "== the reference stack's model (its gen_data.py and train.py, defaults)"
mkdir "$work/anchor"
cp "$anchor_dir/gen_data.py" "$anchor_dir/scoring.py" "$anchor_dir/train.py" "$work/anchor/"
(cd "$work/anchor" && "$python" -E -s gen_data.py && "$python" -E -s train.py &&
  "$python" -E -s gen_data.py --n-patients 40 --seed 7 --out-dir heldout) > "$work/anchor.log" ||
  { cat "$work/anchor.log" >&2; echo "generate.sh: the reference stack's train.py failed" >&2; exit 1; }

echo "== scikit-learn fits, files and predictions"
"$python" -I "$here/make_fixtures.py" "$work/out" "$lung" "$work/raw.csv" "$work/anchor"

# testdata/sklearn holds nothing but what this script writes.
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$work/out" "$out"

echo "== TreeSHAP reference values of small ensembles of those models"
"$python" -I "$here/treeshap_reference.py"
echo "== wrote $(find "$out" -type f | wc -l) files ($(du -sh "$out" | cut -f1)) to ${out#"$root"/} in $((SECONDS - start))s"
