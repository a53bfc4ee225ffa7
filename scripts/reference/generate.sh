#!/usr/bin/env bash
# Regenerates the reference fixtures in testdata/reference/: the person-period
# data sets and, for each case, the coefficients, fit statistics and subject
# hazards from R's glm, statsmodels and scikit-learn. See README.md.
#
# Usage: scripts/reference/generate.sh   (from any directory)
#
# The synthetic cohort comes from the caresignal command built from the working
# tree; with REFERENCE_REV set (e.g. REFERENCE_REV=HEAD) it is built from that
# git revision instead, so that uncommitted edits do not affect it.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/reference"
python=/usr/bin/python3
start=$SECONDS

# The same results on any machine: C locale, single-threaded linear algebra,
# no user-level R or Python configuration.
export LC_ALL=C
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

have_tools() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript --vanilla -e 'suppressPackageStartupMessages({library(survival); library(splines)})' >/dev/null 2>&1 &&
    [ -x "$python" ] &&
    "$python" -I -c 'import numpy, scipy, pandas, sklearn, statsmodels' >/dev/null 2>&1
}

. "$here/../lib/packages.sh"
ensure_packages generate.sh "R, survival, scikit-learn and statsmodels" have_tools r-base-core r-cran-survival python3-sklearn python3-statsmodels python3-pandas
command -v go >/dev/null 2>&1 || { echo "generate.sh: go is not on PATH" >&2; exit 1; }

# The fixtures were made with these versions; others may change the last digits.
versions="$(Rscript --vanilla -e 'cat(paste0(R.version$major, ".", R.version$minor), packageDescription("survival")$Version)') $("$python" -I -c 'import sklearn, statsmodels; print(sklearn.__version__, statsmodels.__version__.split("+")[0])')"
if [ "$versions" != "4.2.2 3.5-3 1.2.1 0.13.5" ]; then
  echo "generate.sh: warning: R, survival, scikit-learn, statsmodels are $versions, not 4.2.2 3.5-3 1.2.1 0.13.5" >&2
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

mkdir "$work/out"
echo "== R glm fits"
Rscript --vanilla "$here/fit_glm.R" "$work/out" "$work/raw.csv"
echo "== statsmodels cross-checks and scikit-learn fits"
"$python" -I "$here/fit_sklearn.py" "$work/out"
echo "== R glm fits with an empty period (baseline/)"
mkdir "$work/baseline"
Rscript --vanilla "$here/empty_periods.R" "$work/baseline"

mkdir -p "$out"
rm -f "$out"/*.csv "$out"/*.json
cp "$work/out"/*.csv "$work/out"/*.json "$out"/
rm -rf "$out/baseline"
cp -r "$work/baseline" "$out/baseline"
echo "== wrote $(ls "$work/out" | wc -l) files to ${out#"$root"/} in $((SECONDS - start))s"
