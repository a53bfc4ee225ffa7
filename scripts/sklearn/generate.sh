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
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/sklearn"
lung="$root/testdata/reference/lung.csv"
python=/usr/bin/python3
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

echo "== scikit-learn fits, files and predictions"
"$python" -I "$here/make_fixtures.py" "$work/out" "$lung" "$work/raw.csv"

# testdata/sklearn holds nothing but what this script writes.
rm -rf "$out"
mkdir -p "$(dirname "$out")"
cp -R "$work/out" "$out"
echo "== wrote $(find "$out" -type f | wc -l) files ($(du -sh "$out" | cut -f1)) to ${out#"$root"/} in $((SECONDS - start))s"
