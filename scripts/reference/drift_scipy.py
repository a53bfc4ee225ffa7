"""Reference values for the drift statistics of package eval.

Usage: /usr/bin/python3 scripts/reference/drift_scipy.py [OUT_FILE]

Writes OUT_FILE (default testdata/reference/eval/drift.json, relative to the
repository root) with cases that eval/drift_test.go recomputes and compares:

* "percentiles": samples (with ties) and their 0th..100th percentiles by
  numpy.percentile(method="linear"), R's type 7;
* "kolmogorov": p-values P(D_n >= d) of the one-sample two-sided
  Kolmogorov-Smirnov statistic: for n <= 1000 the exact value, from SciPy's
  implementation of the Marsaglia-Tsang-Wang algorithm without its tail
  shortcut (scipy.stats._ksstats._kolmogn_DMTW, a private function),
  checked here against Pomeranz's exact recursion (_kolmogn_Pomeranz) for
  n <= 250 and against scipy.stats.kstwo.sf for n <= 140, where kstwo is
  exact (for larger n kstwo switches to the Pelz-Good approximation, good
  to about 1e-6, which is also recorded as "p_kstwo"); for n > 1000 the
  asymptotic value scipy.stats.kstwobign.sf(sqrt(n) d);
* "numeric": a reference (counts and percentiles) and live values (numbers,
  null for missing, a string for a value of the wrong kind), with the PSI
  bins, the PSI and the Kolmogorov-Smirnov test expected. Where the
  reference percentiles are strictly increasing the reference distribution
  function is continuous and the test comes straight from
  scipy.stats.kstest (method "exact" or "asymp", as package eval chooses by
  n), whose "exact" p-value is kstwo's (see above) and is given alongside
  the exact one as "p_value_kstest"; where the percentiles repeat (a
  discrete input), the statistic is computed here with the left limit of
  the distribution function;
* "categorical": reference level counts and live levels, with the PSI bins,
  the PSI and the chi-square goodness-of-fit test from
  scipy.stats.chisquare, after the cell pooling package eval documents.

The bins, shares, reference distribution function and pooling are written
here independently of the Go code, from the definitions in package eval
(drift.go, percentiles.go, compare.go, chisquare.go).
The output is deterministic: the samples come from fixed seeds.
"""

import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats
from scipy.stats import _ksstats

PSI_FLOOR = 1e-4
KS_EXACT_MAX_N = 1000
HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PCTS = np.arange(101)


def percentiles(values):
    return np.percentile(np.asarray(values, dtype=float), PCTS, method="linear")


def cdf(q, x, side):
    """Share of the reference at or below x (side="right") or strictly below
    it (side="left"): linear between distinct percentiles."""
    q = np.asarray(q)
    x = np.atleast_1d(np.asarray(x, dtype=float))
    j = np.searchsorted(q, x, side=side)
    out = np.empty_like(x)
    for i, (xi, ji) in enumerate(zip(x, j)):
        if ji == 0:
            out[i] = 0.0
        elif ji == len(q):
            out[i] = 1.0
        else:
            k = ji - 1
            out[i] = (k + (xi - q[k]) / (q[ji] - q[k])) / 100
    return out


def cdf_right(q, x):
    return cdf(q, x, "right")


def cdf_left(q, x):
    return cdf(q, x, "left")


def psi_terms(ref, live):
    e = np.maximum(np.asarray(ref, dtype=float), PSI_FLOOR)
    a = np.maximum(np.asarray(live, dtype=float), PSI_FLOOR)
    return (a - e) * np.log(a / e)


def exact_sf(n, d):
    """P(D_n >= d), exact: Marsaglia-Tsang-Wang without the tail shortcut."""
    p = 1.0 - float(_ksstats._kolmogn_DMTW(n, d, cdf=True))
    if 2 * n * d <= 1:  # D_n >= 1/(2n) always (Pomeranz's code fails here)
        assert abs(p - 1) <= 1e-12, (n, d, p)
    elif n <= 250:
        # Pomeranz's recursion loses absolute precision deep in the tail
        # (about 1e-9 at n = 250, d = 0.3, where p is about 1e-19).
        q = float(_ksstats._kolmogn_Pomeranz(n, d, cdf=False))
        assert abs(p - q) <= (1e-12 if p > 1e-6 else 5e-9), (n, d, p, q)
    if n <= 140:
        q = float(stats.kstwo.sf(d, n))
        assert abs(p - q) <= 1e-12, (n, d, p, q)
    return min(max(p, 0.0), 1.0)


def ks_pvalue(n, d):
    if n <= KS_EXACT_MAX_N:
        return exact_sf(n, d), "exact"
    return float(stats.kstwobign.sf(d * math.sqrt(n))), "asymptotic"


def numeric_case(name, typ, q, ref_n, ref_missing, live):
    """live: floats, None (missing) or str (invalid, counted as missing)."""
    q = np.asarray(q, dtype=float)
    rows = len(live)
    if typ == "prediction":
        xs = [v for v in live if v is not None and 0 <= v <= 1]
    else:
        xs = [v for v in live if isinstance(v, (int, float)) and not isinstance(v, bool)]
    xs = np.sort(np.asarray(xs, dtype=float))
    missing = rows - len(xs)
    cuts = np.unique(q[10:100:10])
    idx = np.searchsorted(cuts, xs, side="left")  # bin i is (cuts[i-1], cuts[i]]
    counts = np.bincount(idx, minlength=len(cuts) + 1)
    present = ref_n / (ref_n + ref_missing)
    edges = np.concatenate([[-np.inf], cuts, [np.inf]])
    fr = np.concatenate([[0.0], cdf_right(q, cuts), [1.0]])
    bins = []
    for i in range(len(cuts) + 1):
        bins.append({
            "kind": "range",
            "lower": None if i == 0 else float(edges[i]),
            "upper": None if i == len(cuts) else float(edges[i + 1]),
            "reference_share": float((fr[i + 1] - fr[i]) * present),
            "live_count": int(counts[i]),
            "live_share": float(counts[i] / rows),
        })
    if missing > 0 or ref_missing > 0:
        bins.append({"kind": "missing", "lower": None, "upper": None,
                     "reference_share": ref_missing / (ref_n + ref_missing),
                     "live_count": missing, "live_share": missing / rows})
    terms = psi_terms([b["reference_share"] for b in bins], [b["live_share"] for b in bins])
    for b, t in zip(bins, terms):
        b["psi"] = float(t)

    n = len(xs)
    continuous = bool(np.all(np.diff(q) > 0))
    if continuous:
        method = "exact" if n <= KS_EXACT_MAX_N else "asymp"
        res = stats.kstest(xs, lambda x: np.interp(x, q, PCTS / 100), method=method)
        d, p_kstest = float(res.statistic), float(res.pvalue)
        ks_source = "scipy.stats.kstest(method=%r)" % method
        p, method = ks_pvalue(n, d)
        assert abs(p - p_kstest) <= 2e-6, (name, p, p_kstest)
        # the same statistic from the definition, as a check of the CDF
        i = np.arange(1, n + 1)
        d2 = max(np.max(i / n - cdf_right(q, xs)), np.max(cdf_left(q, xs) - (i - 1) / n))
        assert abs(d2 - d) < 1e-12, (name, d, d2)
    else:
        i = np.arange(1, n + 1)
        d = float(max(np.max(i / n - cdf_right(q, xs)), np.max(cdf_left(q, xs) - (i - 1) / n), 0.0))
        p, method = ks_pvalue(n, d)
        p_kstest = None
        ks_source = "left-limit statistic computed here"
    return {
        "case": name,
        "type": typ,
        "reference": {"n": ref_n, "missing": ref_missing, "percentiles": [float(v) for v in q]},
        "live": live,
        "expected": {
            "rows": rows,
            "missing": missing,
            "bins": bins,
            "psi": float(terms.sum()),
            "ks": {"n": n, "d": d, "p_value": p, "method": method, "source": ks_source,
                   "p_value_kstest": p_kstest},
        },
    }


def categorical_case(name, counts, ref_missing, live):
    rows = len(live)
    ref_total = sum(counts.values()) + ref_missing
    levels = sorted(counts, key=lambda l: (-counts[l], l))
    live_counts = {}
    unseen = {}
    missing = 0
    for v in live:
        if v is None:
            missing += 1
        elif v in counts:
            live_counts[v] = live_counts.get(v, 0) + 1
        else:
            unseen[v] = unseen.get(v, 0) + 1
    other = sum(unseen.values())
    bins = [{"kind": "level", "label": l, "reference_share": counts[l] / ref_total,
             "live_count": live_counts.get(l, 0)} for l in levels]
    if other > 0:
        bins.append({"kind": "other", "label": "other", "reference_share": 0.0, "live_count": other})
    if missing > 0 or ref_missing > 0:
        bins.append({"kind": "missing", "label": "missing", "reference_share": ref_missing / ref_total,
                     "live_count": missing})
    for b in bins:
        b["live_share"] = b["live_count"] / rows
    terms = psi_terms([b["reference_share"] for b in bins], [b["live_share"] for b in bins])
    for b, t in zip(bins, terms):
        b["psi"] = float(t)

    # Chi-square over the reference's support: its levels, and missing when
    # the reference has missing values.
    cells = [([l], live_counts.get(l, 0), counts[l] / ref_total) for l in levels]
    if ref_missing > 0:
        cells.append((["(missing)"], missing, ref_missing / ref_total))
    n_in = sum(c[1] for c in cells)
    support = sum(c[2] for c in cells)
    chi = None
    if n_in > 0 and len(cells) >= 2:
        def exp(c):
            return n_in * c[2] / support
        kept = [c for c in cells if exp(c) >= 5]
        small = [c for c in cells if exp(c) < 5]
        pooled_names = None
        if small:
            pooled = (sum((c[0] for c in small), []), sum(c[1] for c in small), sum(c[2] for c in small))
            if exp(pooled) < 5 and kept:
                smallest = min(exp(c) for c in kept)
                s = max(i for i, c in enumerate(kept) if exp(c) == smallest)  # the last such
                c = kept.pop(s)
                pooled = (pooled[0] + c[0], pooled[1] + c[1], pooled[2] + c[2])
            kept.append(pooled)
            pooled_names = pooled[0]
        if len(kept) >= 2:
            obs = np.array([c[1] for c in kept], dtype=float)
            want = np.array([exp(c) for c in kept])
            res = stats.chisquare(obs, want)
            chi = {"n": n_in, "excluded": rows - n_in, "statistic": float(res.statistic),
                   "df": len(kept) - 1, "p_value": float(res.pvalue), "pooled": pooled_names}
    return {
        "case": name,
        "reference": {"counts": counts, "missing": ref_missing},
        "live": live,
        "expected": {"rows": rows, "missing": missing, "other_levels": other,
                     "bins": bins, "psi": float(terms.sum()), "chi_square": chi},
    }


def with_missing(rng, values, share):
    out = [float(v) for v in values]
    for i in np.nonzero(rng.random(len(out)) < share)[0]:
        out[i] = None
    return out


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "testdata", "reference", "eval", "drift.json")
    rng = np.random.default_rng(20261128)

    pct_cases = []
    for sample in [
        rng.normal(50, 10, 997),
        rng.integers(0, 6, 300).astype(float),  # many ties
        np.array([3.5]),
        np.array([1.0, 2.0]),
        rng.exponential(2.0, 58),
    ]:
        sample = [float(v) for v in sample]
        pct_cases.append({"values": sample, "percentiles": [float(v) for v in percentiles(sample)]})

    kol = []
    for n in [1, 2, 5, 10, 37, 50, 99, 100, 250, 600, 1000]:
        for d in [0.01, 0.03, 0.05, 0.08, 0.1, 0.15, 0.2, 0.3, 0.5, 0.7, 0.95]:
            if int(n * d) + 1 > 100:
                continue  # the far tail: checked separately ("kolmogorov_tail")
            kol.append({"n": n, "d": d, "p": exact_sf(n, d), "p_kstwo": float(stats.kstwo.sf(d, n)), "method": "exact"})
    tail = []
    for n, d in [(50, 0.4), (50, 0.9), (99, 0.3), (100, 0.2), (150, 0.6), (250, 0.3), (359, 0.1158785494821043),
                 (500, 0.1), (500, 0.25), (1000, 0.07), (1000, 0.099), (1000, 0.1), (1000, 0.2)]:
        tail.append({"n": n, "d": d, "p": exact_sf(n, d), "p_kstwo": float(stats.kstwo.sf(d, n)), "method": "exact"})
    for n in [1001, 2500, 20000]:
        for lam in [0.3, 0.6, 0.9, 1.0, 1.2, 1.6, 2.2, 3.0]:
            d = lam / math.sqrt(n)
            kol.append({"n": n, "d": d, "p": float(stats.kstwobign.sf(d * math.sqrt(n))), "method": "asymptotic"})

    numeric = []
    # Continuous reference with 4% missing; live shifted by 0.3 sd, 10% missing,
    # one value of the wrong kind.
    ref = rng.normal(50, 10, 5000)
    q = percentiles(ref)
    live = with_missing(rng, rng.normal(53, 10, 400), 0.10)
    live[7] = "n/a"
    numeric.append(numeric_case("continuous_shifted_exact", "numeric", q, 5000, 208, live))
    # The same distribution, 2,400 live rows, no missing on either side:
    # the asymptotic p-value.
    live = [float(v) for v in rng.normal(50, 10, 2400)]
    numeric.append(numeric_case("continuous_same_asymptotic", "numeric", q, 5000, 0, live))
    # A small live set with a wider spread: an exact p-value away from 0.
    live = [float(v) for v in rng.normal(50, 13, 60)]
    numeric.append(numeric_case("continuous_wider_small", "numeric", q, 5000, 0, live))
    # A discrete input (counts): repeated percentiles, jumps in the reference
    # distribution function; live counts from a larger mean.
    ref = rng.poisson(2.0, 8000).astype(float)
    q = percentiles(ref)
    live = with_missing(rng, rng.poisson(2.4, 700), 0.02)
    numeric.append(numeric_case("discrete_counts_shifted", "numeric", q, 8000, 0, live))
    # The same discrete distribution: the left limit keeps D small.
    live = [float(v) for v in rng.poisson(2.0, 1500)]
    numeric.append(numeric_case("discrete_counts_same_asymptotic", "numeric", q, 8000, 0, live))
    # Predicted hazards: fitted ones from a beta distribution, live ones
    # higher, one not scored (null).
    ref = rng.beta(1.2, 25, 12000)
    q = percentiles(ref)
    live = [float(v) for v in rng.beta(1.5, 25, 800)]
    live[3] = None
    numeric.append(numeric_case("hazard_higher", "prediction", q, 12000, 0, live))

    categorical = []
    counts = {"app": 5200, "phone": 2900, "web": 1700, "sms": 150, "fax": 30, "post": 20}
    live = (["app"] * 260 + ["phone"] * 120 + ["web"] * 95 + ["sms"] * 3 + ["fax"] * 2
            + ["kiosk"] * 6 + ["tablet"] * 1 + [None] * 13)
    rng.shuffle(live)
    categorical.append(categorical_case("unseen_and_missing_pooled", counts, 400, list(live)))
    counts = {"referral": 4000, "self": 3000, "employer": 3000}
    live = ["referral"] * 410 + ["self"] * 290 + ["employer"] * 300
    categorical.append(categorical_case("same_no_missing", counts, 0, live))
    counts = {"A": 600, "B": 300, "C": 60, "D": 40}
    live = ["A"] * 20 + ["B"] * 30 + ["C"] * 4 + ["D"] * 1 + [None] * 5
    categorical.append(categorical_case("small_live_missing_not_in_reference", counts, 0, live))
    counts = {"x": 10, "y": 5, "z": 5}
    live = ["x"] * 3 + ["y"] * 2 + ["z"] * 1
    categorical.append(categorical_case("too_small_for_a_test", counts, 0, live))

    doc = {
        "generator": "scripts/reference/drift_scipy.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "psi_floor": PSI_FLOOR,
        "percentiles": pct_cases,
        "kolmogorov": kol,
        "kolmogorov_tail": tail,
        "numeric": numeric,
        "categorical": categorical,
    }
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump(doc, f, indent=1, allow_nan=False)
        f.write("\n")
    print("wrote %s: %d numeric, %d categorical, %d Kolmogorov cases" % (out, len(numeric), len(categorical), len(kol) + len(tail)))


if __name__ == "__main__":
    main()
