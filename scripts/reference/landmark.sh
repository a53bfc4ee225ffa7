#!/usr/bin/env bash
# Regenerates the landmark fixtures in testdata/reference/landmark/ from R's
# glm and the sandwich package (see landmark.R and README.md).
#
# Usage: scripts/reference/landmark.sh   (from any directory; a few seconds)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
out="$root/testdata/reference/landmark"

export LC_ALL=C
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 MKL_NUM_THREADS=1

have_tools() {
  command -v Rscript >/dev/null 2>&1 &&
    Rscript --vanilla -e 'suppressPackageStartupMessages({library(survival); library(sandwich); library(jsonlite)})' >/dev/null 2>&1
}

. "$here/../lib/packages.sh"
ensure_packages landmark.sh "R, survival, sandwich and jsonlite" have_tools r-base-core r-cran-survival r-cran-sandwich r-cran-jsonlite

mkdir -p "$out"
Rscript --vanilla "$here/landmark.R" "$out"
