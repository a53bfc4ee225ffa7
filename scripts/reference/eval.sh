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

have_tools() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript --vanilla -e 'suppressPackageStartupMessages({library(survival); library(prodlim); library(pec); library(riskRegression)})' >/dev/null 2>&1
}

if ! have_tools; then
  echo "eval.sh: installing R, survival, pec and riskRegression with apt-get" >&2
  if [ "$(id -u)" -eq 0 ]; then
    sudo=()
  elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "eval.sh: R or its packages are missing and apt-get needs root" >&2
    exit 1
  fi
  "${sudo[@]}" apt-get update
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y \
    r-base-core r-cran-survival r-cran-pec r-cran-riskregression
  have_tools || { echo "eval.sh: the packages are still missing after apt-get" >&2; exit 1; }
fi

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
files=(veteran.json simulated.json)
for f in "${files[@]}"; do
  [ -s "$work/$f" ] || { echo "eval.sh: eval_metrics.R did not write $f" >&2; exit 1; }
done
mkdir -p "$out"
for f in "${files[@]}"; do
  cp "$work/$f" "$out/$f"
done
echo "== wrote ${files[*]} to ${out#"$root"/} in $((SECONDS - start))s"
