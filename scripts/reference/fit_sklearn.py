"""Cross-checks of the glm reference fits, and the penalised reference fits.

Usage: /usr/bin/python3 fit_sklearn.py OUT_DIR

Runs after fit_glm.R, on the CSV and JSON files it wrote into OUT_DIR:

* every glm case with one baseline term per period is refitted with
  statsmodels' GLM (Newton's method); coefficients, log-likelihood, Fisher
  standard errors and subject hazards must agree with R's;
* the cloglog cases get "std_error_observed", the standard errors from the
  observed information (the negative Hessian of the log-likelihood at the
  optimum), which statsmodels' GLM uses by default after a Newton fit. They are
  checked against the observed information computed here in closed form;
* the ridge cases (lung_l2_sklearn, synthetic_l2_sklearn) and the elastic-net
  case (lung_elasticnet_sklearn) are fitted with scikit-learn's
  LogisticRegression, and their optimality conditions are checked under the
  project's penalty convention;
* every JSON file is rewritten in one layout.

Any failed check raises an exception, and the script exits non-zero.
"""

import json
import math
import os
import platform
import sys
import warnings

import numpy as np
import pandas as pd
import scipy
import sklearn
import statsmodels
import statsmodels.api as sm
from sklearn.linear_model import LogisticRegression

# Agreement demanded between two computations of the same quantity:
# |a - b| <= CHECK_TOL * max(1, |b|).
CHECK_TOL = 1e-8
# Largest scaled gradient (or KKT residual) accepted at a penalised optimum;
# see scaled_residual().
KKT_TOL = 1e-10

GLM_CASES = [
    "veteran_logit",
    "veteran_cloglog",
    "veteran_categorical_cloglog",
    "veteran_spline_logit",
    "lung_logit",
    "lung_cloglog",
    "lung_piecewise_cloglog",
    "synthetic_logit",
    "synthetic_cloglog",
]


class CheckFailed(Exception):
    pass


def check(ok, message):
    if not ok:
        raise CheckFailed(message)


def max_rel_diff(a, b):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b)))) if a.size else 0.0


def python_versions():
    return "Python %s, NumPy %s, SciPy %s" % (platform.python_version(), np.__version__, scipy.__version__)


# ---------------------------------------------------------------------------
# Data and design matrices.


def read_data(out_dir, spec):
    """The case's CSV file; the id and categorical columns as strings."""
    dtypes = {spec["id"]: str}
    for col in spec["categorical"]:
        dtypes[col] = str
    # round_trip: parse every number to the double it was written from.
    return pd.read_csv(os.path.join(out_dir, spec["data"]), dtype=dtypes, float_precision="round_trip",
                       keep_default_na=False)


def levels_of(df, col):
    """Sorted levels (by code point, as Go and R's radix sort order them); the first is the reference."""
    return sorted(set(df[col]))


def feature_columns(rows, spec, levels):
    """Columns for the numeric and categorical covariates of rows, a list of dicts
    (or a DataFrame), with our coefficient names."""
    cols, names = [], []
    for col in spec["numeric"]:
        cols.append(np.asarray(rows[col], dtype=float))
        names.append(col)
    for col in spec["categorical"]:
        values = np.asarray(rows[col], dtype=object)
        for level in levels[col][1:]:
            cols.append((values == level).astype(float))
            names.append("%s=%s" % (col, level))
    return cols, names


def baseline_columns(period, spec, last):
    """The baseline columns for the given periods (last: the last period in
    the data) and their names."""
    cols, names = [], []
    kind = spec["baseline"]["type"]
    if kind == "periods":
        for k in range(1, last + 1):
            cols.append((period == k).astype(float))
            names.append("month_%d%s" % (k, "+" if k == last else ""))
    elif kind == "piecewise":
        breaks = spec["baseline"]["breaks"]
        for t, start in enumerate(breaks):
            if t == len(breaks) - 1:
                cols.append((period >= start).astype(float))
                names.append("month%s_%d+" % ("s" if start < last else "", start))
                continue
            end = breaks[t + 1]
            cols.append(((period >= start) & (period < end)).astype(float))
            names.append("month_%d" % start if end == start + 1 else "months_%d-%d" % (start, end - 1))
    elif kind == "intercept":
        cols.append(np.ones(len(period)))
        names.append("intercept")
    else:
        raise ValueError("no design for baseline %r" % kind)
    return cols, names


def design(df, spec, levels):
    """The design matrix of a case with per-period, piecewise or intercept
    baseline."""
    period = df[spec["period"]].to_numpy()
    last = int(period.max())
    if spec["baseline"]["type"] == "periods":
        check(set(period) == set(range(1, last + 1)), "%s: periods are not 1..%d" % (spec["case"], last))
    cols, names = baseline_columns(period, spec, last)
    fcols, fnames = feature_columns(df, spec, levels)
    return np.column_stack(cols + fcols), names + fnames


def pick_subjects(df, spec, n=3):
    """The same choice as fit_glm.R: each next subject is the first one (in id
    order of appearance) with the most categorical values not yet seen among
    the chosen ones; covariates come from its first row."""
    first = df.drop_duplicates(subset=spec["id"], keep="first").reset_index(drop=True)
    chosen = []
    for _ in range(n):
        best, best_score = None, -1
        for i in range(len(first)):
            if i in chosen:
                continue
            score = sum(first.at[i, col] not in {first.at[j, col] for j in chosen} for col in spec["categorical"])
            if score > best_score:
                best, best_score = i, score
        chosen.append(best)
    return first.iloc[chosen].reset_index(drop=True)


def subject_features(row, spec):
    features = {}
    for col in spec["numeric"]:
        v = row[col]
        features[col] = int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)
    for col in spec["categorical"]:
        features[col] = str(row[col])
    return features


# ---------------------------------------------------------------------------
# Bernoulli log-likelihood pieces, by link.


def inverse_link(eta, link):
    if link == "logit":
        return 1.0 / (1.0 + np.exp(-eta))
    if link == "cloglog":
        return -np.expm1(-np.exp(eta))
    raise ValueError(link)


def loglik(y, p):
    return float(np.sum(np.where(y == 1, np.log(p), np.log1p(-p))))


def information_weights(eta, y, link):
    """Per-row weights w such that X' diag(w) X is the expected (Fisher) and the
    observed information of the Bernoulli log-likelihood."""
    if link == "logit":
        p = inverse_link(eta, link)
        w = p * (1.0 - p)
        return w, w
    mu = np.exp(eta)
    p = -np.expm1(-mu)
    # dp/deta = mu * exp(-mu); Fisher weight (dp/deta)^2 / (p (1 - p)).
    expected = mu * mu * np.exp(-mu) / p
    # d loglik / d eta = y * g(mu) - (1 - y) * mu with g(mu) = mu / (exp(mu) - 1);
    # minus its derivative in eta is mu for y = 0 and -mu * g'(mu) for y = 1.
    em1 = np.expm1(mu)
    dg = (em1 - mu * np.exp(mu)) / (em1 * em1)
    observed = np.where(y == 1, -mu * dg, mu)
    return expected, observed


def std_errors(X, w):
    return np.sqrt(np.diag(np.linalg.inv((X * w[:, None]).T @ X)))


# ---------------------------------------------------------------------------
# The glm cases.


def check_glm_case(out_dir, spec, summary):
    """Refits a per-period glm case with statsmodels and compares; adds the
    observed-information standard errors to cloglog cases."""
    name = spec["case"]
    df = read_data(out_dir, spec)
    levels = {col: levels_of(df, col) for col in spec["categorical"]}
    X, names = design(df, spec, levels)
    y = df[spec["event"]].to_numpy(dtype=float)
    coefs = spec["coefficients"]
    check(names == [c["name"] for c in coefs],
          "%s: coefficient names or order differ from the design built here:\n  R:    %s\n  here: %s"
          % (name, [c["name"] for c in coefs], names))
    r_beta = np.array([c["estimate"] for c in coefs])
    r_se = np.array([c["std_error"] for c in coefs])

    link = spec["link"]
    link_obj = sm.families.links.CLogLog() if link == "cloglog" else sm.families.links.Logit()
    model = sm.GLM(y, X, family=sm.families.Binomial(link=link_obj))
    res = model.fit(method="newton", maxiter=100, tol=1e-13, disp=False)
    check(res.mle_retvals["converged"], "%s: statsmodels Newton did not converge" % name)
    beta = np.asarray(res.params)
    diff = max_rel_diff(beta, r_beta)
    check(diff <= CHECK_TOL, "%s: statsmodels and R coefficients differ by %.3g" % (name, diff))

    eta = X @ beta
    p = inverse_link(eta, link)
    ll = loglik(y, p)
    check(abs(ll - res.llf) <= CHECK_TOL * abs(ll), "%s: log-likelihood differs from statsmodels'" % name)
    check(abs(ll - spec["log_likelihood"]) <= CHECK_TOL * abs(ll), "%s: log-likelihood differs from R's" % name)
    check(spec["n_rows"] == len(y) and spec["n_events"] == int(y.sum()), "%s: row or event count differs" % name)

    w_expected, w_observed = information_weights(eta, y, link)
    se_fisher = std_errors(X, w_expected)
    se_diff = max_rel_diff(se_fisher, r_se)
    check(se_diff <= CHECK_TOL, "%s: Fisher standard errors differ from R's by %.3g" % (name, se_diff))
    se_observed = std_errors(X, w_observed)
    obs_diff = max_rel_diff(np.asarray(res.bse), se_observed)
    check(obs_diff <= CHECK_TOL,
          "%s: statsmodels' standard errors differ from the observed-information ones by %.3g" % (name, obs_diff))

    # Subject hazards from statsmodels' coefficients.
    P = int(df[spec["period"]].max())
    hz_diff = 0.0
    for s in spec["subjects"]:
        fcols, _ = feature_columns({k: [v] for k, v in s["features"].items()}, spec, levels)
        x_feat = np.array([c[0] for c in fcols])
        bcols, _ = baseline_columns(np.arange(1, P + 1), spec, P)
        nb = len(bcols)
        eta_s = np.column_stack(bcols) @ beta[:nb] + x_feat @ beta[nb:]
        h = inverse_link(eta_s, link)
        hz_diff = max(hz_diff, max_rel_diff(h, s["hazard"]))
        check(max_rel_diff(np.cumprod(1 - h), s["survival"]) <= CHECK_TOL, "%s: survival differs" % name)
    check(hz_diff <= CHECK_TOL, "%s: subject hazards differ by %.3g" % (name, hz_diff))

    if link == "cloglog":
        spec["reference"] += (
            "; std_error_observed: statsmodels %s GLM(Binomial(link=CLogLog())).fit(method=\"newton\"), whose "
            "covariance is the inverse observed information (negative Hessian of the log-likelihood), %s"
            % (statsmodels.__version__, python_versions()))
        for c, se in zip(coefs, np.asarray(res.bse)):
            c["std_error_observed"] = float(se)
    summary.append({"case": name, "rows": len(y), "events": int(y.sum()), "periods": P,
                    "statsmodels_vs_R": diff, "se_fisher_vs_R": se_diff,
                    "se_observed_vs_closed_form": obs_diff if link == "cloglog" else None,
                    "hazard_vs_R": hz_diff, "kkt": None})


# ---------------------------------------------------------------------------
# The penalised cases. Our convention: maximise
#   loglik(beta) - lambda * [ (1 - alpha)/2 * sum beta_j^2 + alpha * sum |beta_j| ]
# over the penalised coefficients (all but the intercept); alpha = 0 is ridge.
# scikit-learn minimises C * sum(log loss) + (1 - l1_ratio)/2 ||w||^2 + l1_ratio ||w||_1
# (the intercept unpenalised), which divided by C is the same with
# lambda = 1/C and alpha = l1_ratio. The checks below confirm it.


def scaled_residual(X, r):
    """max_j |r_j| / sum_i |x_ij|: the KKT residual r of each coefficient, per
    unit of its column's total size (for the intercept: per row)."""
    return float(np.max(np.abs(r) / np.maximum(1.0, np.abs(X).sum(axis=0))))


def kkt_residual(X, y, beta, lam, alpha):
    """Residual of the optimality conditions of our objective at beta (column 0
    of X is the unpenalised intercept)."""
    p = inverse_link(X @ beta, "logit")
    grad = X.T @ (y - p)
    grad[1:] -= lam * (1.0 - alpha) * beta[1:]
    r = grad.copy()
    pen = lam * alpha
    b = beta[1:]
    g = grad[1:]
    r[1:] = np.where(b != 0, g - pen * np.sign(b), np.maximum(0.0, np.abs(g) - pen))
    return r


def newton_penalised(X, y, lam, alpha=0.0, sign=None, active=None):
    """Our objective's optimum by Newton's method with step halving. With alpha > 0
    the L1 term is smooth on a fixed sign pattern: sign gives the sign of each
    penalised coefficient and active which are free (the others stay 0)."""
    k = X.shape[1]
    free = np.ones(k, dtype=bool) if active is None else active
    pen_l2 = np.full(k, lam * (1.0 - alpha))
    pen_l2[0] = 0.0
    pen_l1 = np.zeros(k) if sign is None else lam * alpha * sign
    pen_l1[0] = 0.0

    def objective(b):
        eta = X @ b
        return float(np.sum(y * eta - np.logaddexp(0.0, eta)) - 0.5 * np.sum(pen_l2 * b * b) - np.sum(pen_l1 * b))

    beta = np.zeros(k)
    for _ in range(200):
        p = inverse_link(X @ beta, "logit")
        grad = X.T @ (y - p) - pen_l2 * beta - pen_l1
        H = (X * (p * (1 - p))[:, None]).T @ X + np.diag(pen_l2)
        step = np.zeros(k)
        step[free] = np.linalg.solve(H[np.ix_(free, free)], grad[free])
        f0 = objective(beta)
        t = 1.0
        while objective(beta + t * step) < f0 - 1e-12 * abs(f0) and t > 1e-10:
            t /= 2
        beta = beta + t * step
        if np.max(np.abs(t * step)) <= 1e-15 * max(1.0, np.max(np.abs(beta))):
            break
    return beta


def fit_sklearn_case(out_dir, base_spec, case, C, penalty, summary, l1_ratio=None):
    df = read_data(out_dir, base_spec)
    spec = {
        "case": case,
        "reference": None,
        "data": base_spec["data"],
        "id": base_spec["id"], "event": base_spec["event"], "period": base_spec["period"],
        "numeric": base_spec["numeric"],
        "categorical": base_spec["categorical"],
        "link": "logit",
        "baseline": {"type": "intercept"},
    }
    levels = {col: levels_of(df, col) for col in spec["categorical"]}
    X, names = design(df, spec, levels)
    y = df[spec["event"]].to_numpy(dtype=float)
    Xf = X[:, 1:]
    lam = 1.0 / C

    if penalty == "l2":
        alpha = 0.0
        params = dict(penalty="l2", C=C, solver="newton-cholesky", tol=1e-14, max_iter=1000)
        spec["penalty"] = {"type": "l2", "lambda": lam, "C": C}
    else:
        alpha = l1_ratio
        params = dict(penalty="elasticnet", C=C, l1_ratio=l1_ratio, solver="saga", tol=1e-15,
                      max_iter=1000000, random_state=0)
        spec["penalty"] = {"type": "elasticnet", "lambda": lam, "alpha": alpha, "C": C, "l1_ratio": l1_ratio}
    clf = LogisticRegression(fit_intercept=True, **params)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(Xf, y)
    for w in caught:
        print("  %s: scikit-learn warning: %s" % (case, w.message))
    check(list(clf.classes_) == [0.0, 1.0], "%s: unexpected classes %s" % (case, clf.classes_))
    beta = np.concatenate([clf.intercept_, clf.coef_[0]])

    # The optimality conditions of our objective at scikit-learn's solution.
    kkt = scaled_residual(X, kkt_residual(X, y, beta, lam, alpha))
    print("  %s: scaled KKT residual of our objective at scikit-learn's solution: %.3g (%d iterations)"
          % (case, kkt, int(np.max(clf.n_iter_))))
    check(kkt <= KKT_TOL,
          "%s: scikit-learn's solution does not satisfy the optimality conditions of "
          "loglik - lambda*penalty with lambda = 1/C (scaled residual %.3g)" % (case, kkt))

    # The same optimum found independently.
    if penalty == "l2":
        exact = newton_penalised(X, y, lam)
    else:
        sign = np.sign(beta)
        exact = newton_penalised(X, y, lam, alpha, sign=sign, active=(beta != 0) | (np.arange(len(beta)) == 0))
        check(np.array_equal(np.sign(exact[1:]), sign[1:]), "%s: polished solution changed signs" % case)
        check(scaled_residual(X, kkt_residual(X, y, exact, lam, alpha)) <= 1e-13,
              "%s: polished solution is not optimal" % case)
    coef_err = max_rel_diff(beta, exact)
    print("  %s: max |scikit-learn - Newton| / max(1, |Newton|) = %.3g" % (case, coef_err))
    check(coef_err <= (1e-7 if penalty == "l2" else 1e-4), "%s: scikit-learn and Newton disagree" % case)

    unpenalised = newton_penalised(X, y, 0.0)
    shrink = np.abs(beta[1:]) / np.abs(unpenalised[1:])
    print("  %s: |penalised| / |unpenalised| per coefficient: min %.3f, max %.3f; zeros: %s"
          % (case, shrink.min(), shrink.max(), [n for n, b in zip(names, beta) if b == 0] or "none"))

    proba = clf.predict_proba(Xf)
    ll = float(np.sum(np.log(np.where(y == 1, proba[:, 1], proba[:, 0]))))
    check(abs(ll - loglik(y, inverse_link(X @ beta, "logit"))) <= CHECK_TOL * abs(ll), "%s: log-likelihood" % case)

    if penalty == "l2":
        tolerance = 1e-6
        ref_params = 'penalty="l2", C=%r, solver="newton-cholesky", tol=%g, max_iter=%d' % (C, params["tol"], params["max_iter"])
    else:
        # saga stops short of the exact optimum: demand what it reached, with a
        # margin, measured against the polished solution.
        tolerance = max(1e-6, 10.0 ** math.ceil(math.log10(10.0 * max(coef_err, 1e-300))))
        ref_params = ('penalty="elasticnet", C=%r, l1_ratio=%r, solver="saga", tol=%g, max_iter=%d, random_state=0'
                      % (C, l1_ratio, params["tol"], params["max_iter"]))
    spec["reference"] = ("scikit-learn %s LogisticRegression(%s, fit_intercept=True), %s; "
                         "lambda = 1/C in loglik - lambda * penalty, intercept unpenalised"
                         % (sklearn.__version__, ref_params, python_versions()))
    spec["tolerance"] = tolerance
    spec["coefficients"] = [{"name": n, "estimate": float(b), "std_error": None} for n, b in zip(names, beta)]
    spec["log_likelihood"] = ll
    spec["deviance"] = -2.0 * ll
    spec["aic"] = None
    spec["bic"] = None
    spec["n_rows"] = len(y)
    spec["n_events"] = int(y.sum())

    subjects = []
    for _, row in pick_subjects(df, spec).iterrows():
        fcols, _ = feature_columns({col: [row[col]] for col in spec["numeric"] + spec["categorical"]}, spec, levels)
        h = float(clf.predict_proba(np.array([[c[0] for c in fcols]]))[0, 1])
        hz = [h, h, h]
        subjects.append({"name": "%s id %s" % (base_spec["data"][:-4], row[spec["id"]]),
                         "features": subject_features(row, spec),
                         "hazard": hz, "survival": [float(v) for v in np.cumprod([1.0 - v for v in hz])]})
    spec["subjects"] = subjects
    write_json(out_dir, spec)
    summary.append({"case": case, "rows": len(y), "events": int(y.sum()), "periods": None,
                    "statsmodels_vs_R": None, "se_fisher_vs_R": None, "se_observed_vs_closed_form": None,
                    "hazard_vs_R": None, "kkt": kkt, "coef_err": coef_err})


def write_json(out_dir, spec):
    path = os.path.join(out_dir, spec["case"] + ".json")
    with open(path, "w") as f:
        json.dump(spec, f, indent=2, allow_nan=False)
        f.write("\n")


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: fit_sklearn.py OUT_DIR")
    out_dir = sys.argv[1]
    summary = []
    specs = {}
    for case in GLM_CASES:
        with open(os.path.join(out_dir, case + ".json")) as f:
            spec = json.load(f)
        specs[case] = spec
        if spec["baseline"]["type"] in ("periods", "piecewise"):
            check_glm_case(out_dir, spec, summary)
        else:
            summary.append({"case": case, "rows": spec["n_rows"], "events": spec["n_events"],
                            "periods": len(spec["subjects"][0]["hazard"]), "statsmodels_vs_R": None, "se_fisher_vs_R": None,
                            "se_observed_vs_closed_form": None, "hazard_vs_R": None, "kkt": None})
        write_json(out_dir, spec)

    lung = dict(specs["lung_logit"], numeric=["age_std", "ph_karno_std", "wt_loss_std"])
    synthetic = dict(specs["synthetic_logit"], numeric=["age_std", "prior_no_shows_std",
                                                          "sessions_last_month_std", "messages_last_month_std"])
    fit_sklearn_case(out_dir, lung, "lung_l2_sklearn", 0.5, "l2", summary)
    fit_sklearn_case(out_dir, synthetic, "synthetic_l2_sklearn", 0.05, "l2", summary)
    fit_sklearn_case(out_dir, lung, "lung_elasticnet_sklearn", 0.05, "elasticnet", summary, l1_ratio=0.5)

    def fmt(v):
        return "-" if v is None else ("%.2g" % v if isinstance(v, float) else str(v))

    print("\n%-28s %6s %6s %7s %16s %12s %12s %10s %12s" % (
        "case", "rows", "events", "periods", "statsmodels-R", "SE(Fisher)-R", "SE(obs)-exact", "KKT", "sklearn-Newton"))
    for s in summary:
        print("%-28s %6d %6d %7s %16s %12s %12s %10s %12s" % (
            s["case"], s["rows"], s["events"], fmt(s["periods"]), fmt(s["statsmodels_vs_R"]),
            fmt(s["se_fisher_vs_R"]), fmt(s["se_observed_vs_closed_form"]), fmt(s["kkt"]), fmt(s.get("coef_err"))))
    print("(statsmodels-R, SE(Fisher)-R, SE(obs)-exact, sklearn-Newton: max |a - b| / max(1, |b|) over coefficients; "
          "KKT: scaled residual of the penalised optimality conditions)")


if __name__ == "__main__":
    try:
        main()
    except CheckFailed as e:
        sys.exit("check failed: %s" % e)
