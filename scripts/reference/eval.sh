#!/usr/bin/env bash
# Regenerates the reference values of the survival-outcome metrics of package
# eval in testdata/reference/eval/ with R (survival, prodlim, pec,
# riskRegression). See README.md.
#
# Usage: scripts/reference/eval.sh   (from any directory; about 10 s)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/reference/eval"
start=$SECONDS

# The same results on any machine: C locale, single-threaded linear algebra,
# no user-level R configuration (--vanilla).
export LC_ALL=C
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1
# R's matrix products go through whichever BLAS the system's alternatives
# select; OpenBLAS (which other Debian packages pull in) changes the last
# digits of the predicted curves. Load the reference BLAS and LAPACK (Debian's
# libblas3, liblapack3, which r-base-core installs) when they are there: the
# fixtures were made with them.
ref_blas=(/usr/lib/*/blas/libblas.so.3)
ref_lapack=(/usr/lib/*/lapack/liblapack.so.3)
if [ -e "${ref_blas[0]}" ] && [ -e "${ref_lapack[0]}" ]; then
  export LD_PRELOAD="${ref_blas[0]}:${ref_lapack[0]}${LD_PRELOAD:+:$LD_PRELOAD}"
else
  echo "eval.sh: warning: no reference BLAS/LAPACK in /usr/lib/*/blas, /usr/lib/*/lapack; the last digits may differ" >&2
fi

have_tools() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript --vanilla -e 'suppressPackageStartupMessages({library(survival); library(prodlim); library(pec); library(riskRegression)})' >/dev/null 2>&1
}

. "$here/../lib/packages.sh"
ensure_packages eval.sh "R, survival, pec and riskRegression" have_tools r-base-core r-cran-survival r-cran-pec r-cran-riskregression

# The fixtures were made with these versions; others may change the last digits.
want="4.2.2 3.5-3 2019.11.13 2022.05.04 2022.11.28"
versions="$(Rscript --vanilla -e 'cat(paste0(R.version$major, ".", R.version$minor), sapply(c("survival", "prodlim", "pec", "riskRegression"), function(p) packageDescription(p)$Version))')"
if [ "$versions" != "$want" ]; then
  echo "eval.sh: warning: R, survival, prodlim, pec, riskRegression are $versions, not $want" >&2
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "== R reference metrics"
Rscript --vanilla "$here/eval_metrics.R" "$work"

# Only the files eval_metrics.R writes: other fixtures share the folder.
files=(veteran.json simulated.json colon.json)
for f in "${files[@]}"; do
  [ -s "$work/$f" ] || { echo "eval.sh: eval_metrics.R did not write $f" >&2; exit 1; }
done
mkdir -p "$out"
for f in "${files[@]}"; do
  cp "$work/$f" "$out/$f"
done
echo "== wrote ${files[*]} to ${out#"$root"/} in $((SECONDS - start))s"
