# Reference values of the survival-outcome metrics of package eval.
#
# Usage: Rscript --vanilla eval_metrics.R OUT_DIR
#
# Writes OUT_DIR/veteran.json, OUT_DIR/simulated.json and OUT_DIR/colon.json:
# the inputs (times,
# events, predicted survival curves S_i(1..H)) and what R computes on them:
# Kaplan-Meier and censoring curves, Harrell's and Uno's concordance, the
# time-dependent AUC, the IPCW Brier score and its integral, the calibration
# table and regressions, and a Poisson-binomial distribution. Each metric is
# computed twice, by a package function and by a direct transcription of the
# definition below; the script stops if the two differ by more than
# check_tol (relative).

suppressPackageStartupMessages({
  library(survival)
  library(prodlim)
  library(pec)
  library(riskRegression)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript eval_metrics.R OUT_DIR")
out_dir <- args[[1]]

check_tol <- 1e-12     # package value vs. hand-written definition
fixture_tol <- 1e-10   # what the Go tests demand (relative)
hazard_clip <- 1e-15   # h is clipped to [1e-15, 1 - 1e-15] before the logit
glm_epsilon <- 1e-14
continue_tol <- 1e-13

versions <- list(
  r = sprintf("%s.%s", R.version$major, R.version$minor),
  survival = packageDescription("survival")$Version,
  prodlim = packageDescription("prodlim")$Version,
  pec = packageDescription("pec")$Version,
  riskRegression = packageDescription("riskRegression")$Version
)

# ---------------------------------------------------------------------------
# JSON output. Lists are arrays (unnamed) or objects (named); atomic values
# must be of length one (arr() turns a vector into an array). Numbers are
# written with 17 significant digits, so they read back as the same doubles.

json_string <- function(s) {
  s <- gsub("\\", "\\\\", s, fixed = TRUE)
  s <- gsub("\"", "\\\"", s, fixed = TRUE)
  paste0("\"", s, "\"")
}

json_number <- function(x) {
  if (!is.finite(x)) stop("non-finite number in JSON output")
  if (x == 0) return("0")
  sprintf("%.17g", x)
}

to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    parts <- vapply(x, to_json, character(1), USE.NAMES = FALSE)
    if (is.null(names(x))) {
      return(paste0("[", paste(parts, collapse = ","), "]"))
    }
    return(paste0("{", paste(paste0(json_string(names(x)), ":", parts), collapse = ",\n"), "}"))
  }
  if (length(x) != 1) stop("atomic JSON value of length ", length(x), "; wrap arrays in arr()")
  if (is.na(x)) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x)) return(json_string(x))
  if (is.numeric(x)) return(json_number(x))
  stop("cannot write a value of class ", class(x)[1], " as JSON")
}

arr <- function(x) as.list(unname(x))
rows <- function(m) lapply(seq_len(nrow(m)), function(i) arr(m[i, ]))

# ---------------------------------------------------------------------------
# Checks.

rel_diff <- function(a, b) {
  both_na <- is.na(a) & is.na(b)
  if (any(is.na(a) != is.na(b))) return(Inf)
  a <- a[!both_na]
  b <- b[!both_na]
  if (length(a) == 0) return(0)
  max(abs(a - b) / pmax(1, abs(b)))
}

check <- function(what, a, b, tol = check_tol) {
  d <- rel_diff(a, b)
  if (!(d <= tol)) stop(what, ": package and definition differ by ", d)
  cat(sprintf("  %-44s agree to %.1e\n", what, d))
}

# ---------------------------------------------------------------------------
# Hand-written definitions (the conventions are those of package eval).

# Reverse Kaplan-Meier of censoring, censorings after events at a tie:
# G(t) = prod_{s <= t} (1 - c(s) / (n(s) - d(s))). Returns G at each distinct
# time.
censoring_km <- function(time, status) {
  ut <- sort(unique(time))
  g <- 1
  out <- numeric(length(ut))
  for (k in seq_along(ut)) {
    s <- ut[k]
    n <- sum(time >= s)
    d <- sum(time == s & status == 1)
    c <- sum(time == s & status == 0)
    if (c > 0) g <- g * (1 - c / (n - d))
    out[k] <- g
  }
  list(time = ut, surv = out)
}

# G(x) (minus = FALSE) or the left limit G(x-) (minus = TRUE).
g_at <- function(gk, x, minus = FALSE) {
  vapply(x, function(t) {
    k <- if (minus) which(gk$time < t) else which(gk$time <= t)
    if (length(k) == 0) 1 else gk$surv[max(k)]
  }, numeric(1))
}

# Concordance: pair (i, j) is comparable when i has an event and
# T_i < T_j, or T_i == T_j and j is censored; higher risk should mean the
# shorter time; tied risks count 1/2. Uno: weight 1/G(T_i-)^2, T_i <= tau.
concordance_hand <- function(time, status, r, tau = Inf, uno = FALSE) {
  gk <- censoring_km(time, status)
  num <- 0
  den <- 0
  for (i in which(status == 1 & time <= tau)) {
    comp <- time[i] < time | (time[i] == time & status == 0)
    if (!any(comp)) next
    w <- if (uno) 1 / g_at(gk, time[i], minus = TRUE)^2 else 1
    num <- num + w * (sum(r[i] > r[comp]) + 0.5 * sum(r[i] == r[comp]))
    den <- den + w * sum(comp)
  }
  num / den
}

# Cumulative/dynamic AUC at t: cases T_i <= t with an event, weight
# 1/G(T_i-); controls T_j > t; marker 1 - S_i(t); ties 1/2.
auc_hand <- function(time, status, S, t) {
  gk <- censoring_km(time, status)
  m <- 1 - S[, t]
  cases <- which(time <= t & status == 1)
  controls <- which(time > t)
  w <- 1 / g_at(gk, time[cases], minus = TRUE)
  num <- 0
  for (a in seq_along(cases)) {
    mi <- m[cases[a]]
    num <- num + w[a] * (sum(mi > m[controls]) + 0.5 * sum(mi == m[controls]))
  }
  num / (sum(w) * length(controls))
}

# IPCW Brier score at t (Graf et al. 1999).
brier_hand <- function(time, status, S, t) {
  gk <- censoring_km(time, status)
  s <- S[, t]
  v <- numeric(length(time))
  cases <- time <= t & status == 1
  controls <- time > t
  v[cases] <- s[cases]^2 / g_at(gk, time[cases], minus = TRUE)
  v[controls] <- (1 - s[controls])^2 / g_at(gk, t)
  mean(v)
}

# Trapezoid rule over months 1..tmax divided by tmax - 1.
ibs_hand <- function(bs) {
  if (length(bs) == 1) return(bs)
  sum((bs[-1] + bs[-length(bs)]) / 2) / (length(bs) - 1)
}

# Predicted hazards h_i(t) = 1 - S_i(t)/S_i(t-1), S_i(0) = 1.
hazards <- function(S) {
  prev <- cbind(1, S[, -ncol(S), drop = FALSE])
  h <- 1 - S / prev
  h[prev == 0] <- 1
  h
}

# Person-period rows: patient i is at risk in month t when time_i > t - 1
# (t = 1..H); y = 1 in the month t - 1 < time_i <= t of its event.
person_period <- function(time, status, S) {
  H <- ncol(S)
  h <- hazards(S)
  out <- list()
  for (i in seq_along(time)) {
    periods <- if (time[i] >= H) H else ceiling(time[i])
    if (periods == 0) next
    ev <- if (status[i] == 1 && time[i] > 0 && time[i] <= H) periods else 0
    t <- seq_len(periods)
    out[[length(out) + 1]] <- data.frame(id = i, t = t, h = h[i, t], y = as.integer(t == ev))
  }
  pp <- do.call(rbind, out)
  pp$x <- qlogis(pmin(pmax(pp$h, hazard_clip), 1 - hazard_clip))
  pp
}

# glm to full precision: continue Fisher scoring from the previous estimate
# until no coefficient moves by more than continue_tol.
glm_converged <- function(formula, data) {
  ctl <- glm.control(epsilon = glm_epsilon, maxit = 100)
  fit <- glm(formula, data = data, family = binomial, control = ctl)
  for (extra in 1:50) {
    before <- coef(fit)
    fit <- suppressWarnings(glm(formula, data = data, family = binomial, start = before,
                                control = glm.control(epsilon = glm_epsilon, maxit = 1)))
    if (max(abs(coef(fit) - before) / pmax(1, abs(before))) <= continue_tol) break
  }
  fit
}

# Logistic regression y ~ offset(off) + X b by plain Newton steps, an
# independent check of glm.
newton_logit <- function(X, y, off = 0, b = rep(0, ncol(X))) {
  for (it in 1:100) {
    p <- plogis(off + drop(X %*% b))
    step <- solve(crossprod(X, X * (p * (1 - p))), crossprod(X, y - p))
    b <- b + drop(step)
    if (max(abs(step)) < 1e-15 * max(1, abs(b))) break
  }
  b
}

# Poisson-binomial probabilities by the direct recursion.
poibin_dp <- function(p) {
  f <- 1
  for (q in p) f <- c(f * (1 - q), 0) + c(0, f * q)
  f
}

# The same from the characteristic function, evaluated at the n + 1 roots of
# unity and inverted by the FFT (Hong 2013); a check of poibin_dp.
poibin_dftcf <- function(p) {
  n <- length(p)
  w <- exp(2i * pi * (0:n) / (n + 1))
  phi <- vapply(w, function(z) prod(1 - p + p * z), complex(1))
  Re(fft(phi, inverse = FALSE)) / (n + 1)
}

poibin_case <- function(p, ks, levels) {
  f <- poibin_dp(p)
  if (length(p) <= 2000) {
    d <- max(abs(poibin_dftcf(p) - f))
    if (!(d <= 1e-13)) stop("Poisson-binomial: recursion and DFT-CF differ by ", d)
    cat(sprintf("  %-44s agree to %.1e (absolute)\n", "Poisson-binomial: recursion vs DFT-CF", d))
  }
  cdf <- cumsum(f)
  upper <- rev(cumsum(rev(f)))            # P(X >= k), k = 0..n
  pval <- function(k) min(1, 2 * min(cdf[k + 1], upper[k + 1]))
  interval <- function(level) {
    a <- (1 - level) / 2
    c(min(which(cdf >= a)) - 1, min(which(cdf >= 1 - a)) - 1)
  }
  list(
    mean = sum(p), variance = sum(p * (1 - p)),
    k = arr(ks), pmf = arr(f[ks + 1]), cdf = arr(cdf[ks + 1]),
    upper_tail = arr(upper[ks + 1]), p_value = arr(vapply(ks, pval, numeric(1))),
    intervals = lapply(levels, function(l) list(level = l, interval = arr(interval(l))))
  )
}

# ---------------------------------------------------------------------------
# One fixture.

make_case <- function(name, description, time, status, S, at, level, extra_tau) {
  cat("== ", name, "\n", sep = "")
  n <- length(time)
  H <- ncol(S)
  d <- data.frame(time = time, status = status)

  # Risk score r_i = -sum_t S_i(t), added month by month from 0 as package
  # eval does (rowSums may use extended precision and break exact ties).
  r <- -Reduce(`+`, lapply(seq_len(H), function(t) S[, t]), 0)

  # Kaplan-Meier and censoring curves.
  sf <- survfit(Surv(time, status) ~ 1, data = d)
  pf <- prodlim(Hist(time, status) ~ 1, data = d, reverse = TRUE)
  gk <- censoring_km(time, status)
  check("censoring KM: prodlim reverse vs definition", pf$surv, gk$surv)
  stopifnot(all(pf$time == gk$time), all(sf$time == gk$time))

  # Concordance.
  hc <- concordance(Surv(time, status) ~ r, data = d, reverse = TRUE)
  check("Harrell C: concordance vs definition", hc$concordance, concordance_hand(time, status, r))
  tau <- max(time[status == 1 & time <= H])
  uno_cases <- lapply(c(tau, extra_tau), function(tt) {
    u <- concordance(Surv(time, status) ~ r, data = d, reverse = TRUE, timewt = "n/G2", ymax = tt)
    check(sprintf("Uno C (tau %g): concordance vs definition", tt), u$concordance,
          concordance_hand(time, status, r, tau = tt, uno = TRUE))
    list(tau = tt, c = u$concordance)
  })

  # Time-dependent AUC and Brier score.
  tmax <- max(at)
  sc <- Score(list(model = 1 - S[, at, drop = FALSE]), formula = Hist(time, status) ~ 1, data = d,
              times = at, metrics = c("auc", "brier"), cens.model = "km", null.model = FALSE,
              se.fit = FALSE)
  auc_rr <- sc$AUC$score$AUC
  auc_h <- vapply(at, function(t) auc_hand(time, status, S, t), numeric(1))
  check("td-AUC: riskRegression::Score vs definition", auc_rr, auc_h)
  months <- seq_len(H)
  sc_all <- Score(list(model = 1 - S), formula = Hist(time, status) ~ 1, data = d,
                  times = months, metrics = "brier", cens.model = "km", null.model = FALSE,
                  se.fit = FALSE)
  brier_rr <- sc_all$Brier$score$Brier
  brier_h <- vapply(months, function(t) brier_hand(time, status, S, t), numeric(1))
  pe <- pec(list(model = S), formula = Surv(time, status) ~ 1, data = d, times = months,
            exact = FALSE, start = NULL, cens.model = "marginal", reference = FALSE,
            verbose = FALSE)
  brier_pec <- pe$AppErr$model
  check("Brier: riskRegression::Score vs definition", brier_rr, brier_h)
  check("Brier: pec::pec vs definition", brier_pec, brier_h)
  ibs <- ibs_hand(brier_h[seq_len(tmax)])
  check("IBS: trapezoid of Score's vs of definition's", ibs_hand(brier_rr[seq_len(tmax)]), ibs)

  # Calibration.
  pp <- person_period(time, status, S)
  z <- qnorm((1 + level) / 2)
  cal <- lapply(months, function(t) {
    rows <- pp[pp$t == t, ]
    nt <- nrow(rows)
    dt <- sum(rows$y)
    if (nt == 0) {
      return(list(month = t, at_risk = 0, events = 0, predicted = NULL, observed = NULL,
                  lower = NULL, upper = NULL))
    }
    ci <- suppressWarnings(prop.test(dt, nt, conf.level = level, correct = FALSE))$conf.int
    list(month = t, at_risk = nt, events = dt, predicted = mean(rows$h), observed = dt / nt,
         lower = ci[1], upper = ci[2])
  })
  slope_fit <- glm_converged(y ~ x, pp)
  citl_fit <- glm_converged(y ~ 1 + offset(x), pp)
  check("calibration slope: glm vs Newton", coef(slope_fit), newton_logit(cbind(1, pp$x), pp$y))
  check("calibration intercept: glm vs Newton", coef(citl_fit),
        newton_logit(matrix(1, nrow(pp)), pp$y, off = pp$x))
  wilson_check <- vapply(months, function(t) {
    rows <- pp[pp$t == t, ]
    nt <- nrow(rows)
    p <- sum(rows$y) / nt
    c(p + z^2 / (2 * nt) - z * sqrt(p * (1 - p) / nt + z^2 / (4 * nt^2))) / (1 + z^2 / nt)
  }, numeric(1))
  km_at <- vapply(months, function(t) {
    k <- which(sf$time <= t)
    s <- if (length(k) == 0) 1 else sf$surv[max(k)]
    if (t > max(time) && s > 0) NA_real_ else s
  }, numeric(1))
  check("Wilson lower bound: prop.test vs formula",
        vapply(cal, function(m) m$lower, numeric(1)), wilson_check)
  surv_cal <- lapply(months, function(t) {
    list(month = t, predicted = mean(S[, t]), kaplan_meier = km_at[t])
  })

  # Poisson-binomial: the predicted month-1 hazards of everybody (the number
  # of drop-offs expected in the first month).
  p1 <- hazards(S)[, 1]
  mu <- sum(p1)
  sdv <- sqrt(sum(p1 * (1 - p1)))
  ks <- sort(unique(pmin(n, pmax(0, round(mu + sdv * c(-12, -6, -3, -2, -1, 0, 1, 2, 3, 6, 12))))))

  list(
    case = name,
    description = description,
    versions = versions,
    tolerance = fixture_tol,
    horizon = H,
    at = arr(at),
    ibs_max = tmax,
    level = level,
    time = arr(time),
    event = arr(status == 1),
    surv = rows(S),
    risk = arr(r),
    kaplan_meier = list(time = arr(sf$time), at_risk = arr(sf$n.risk), events = arr(sf$n.event),
                        censored = arr(sf$n.censor), surv = arr(sf$surv)),
    censoring = list(time = arr(pf$time), surv = arr(pf$surv)),
    harrell = list(c = hc$concordance, concordant = hc$count[["concordant"]],
                   discordant = hc$count[["discordant"]], tied_risk = hc$count[["tied.x"]],
                   tied_time = hc$count[["tied.y"]], tied_both = hc$count[["tied.xy"]]),
    uno = uno_cases,
    td_auc = list(month = arr(at), auc = arr(auc_rr)),
    brier = list(month = arr(months), score = arr(brier_rr), pec = arr(brier_pec)),
    ibs = ibs,
    calibration = cal,
    calibration_slope = unname(coef(slope_fit)[2]),
    calibration_slope_intercept = unname(coef(slope_fit)[1]),
    calibration_intercept = unname(coef(citl_fit)[1]),
    person_period_rows = nrow(pp),
    survival_calibration = surv_cal,
    poisson_binomial = c(list(p = "month-1 hazards h_i(1) = 1 - S_i(1)"), poibin_case(p1, ks, c(0.95, 0.99)))
  )
}

write_case <- function(x) {
  path <- file.path(out_dir, paste0(x$case, ".json"))
  writeLines(to_json(x), path, useBytes = TRUE)
  cat("  wrote ", path, "\n", sep = "")
}

# Predicted survival curves S_i(1..H) from per-row hazards of a person-period
# model: hazard(t, i) for t = 1..H.
curves <- function(n, H, hazard) {
  S <- matrix(0, n, H)
  s <- rep(1, n)
  for (t in seq_len(H)) {
    s <- s * (1 - hazard(t))
    S[, t] <- s
  }
  S
}

# ---------------------------------------------------------------------------
# (a) veteran: months = ceiling(days / 30); a logistic person-period model
# fitted with glm on karno, age and celltype, baseline periods pooled from 7.

vet <- survival::veteran
vet$id <- seq_len(nrow(vet))
vet$month <- ceiling(vet$time / 30)
pp_vet <- do.call(rbind, lapply(seq_len(nrow(vet)), function(i) {
  t <- seq_len(vet$month[i])
  data.frame(id = i, period = t, event = as.integer(t == vet$month[i] & vet$status[i] == 1),
             karno = vet$karno[i], age = vet$age[i], celltype = vet$celltype[i])
}))
pool <- 7
fit_vet <- glm(event ~ 0 + factor(pmin(period, pool)) + karno + age + celltype, data = pp_vet,
               family = binomial, control = glm.control(epsilon = glm_epsilon, maxit = 100))
H_vet <- 12
S_vet <- curves(nrow(vet), H_vet, function(t) {
  nd <- data.frame(period = t, karno = vet$karno, age = vet$age, celltype = vet$celltype)
  predict(fit_vet, newdata = nd, type = "response")
})
case_a <- make_case(
  "veteran",
  paste("survival::veteran (137 patients), time = ceiling(days/30) months, event = status;",
        "S_i(1..12) from glm(event ~ 0 + factor(pmin(period, 7)) + karno + age + celltype,",
        "binomial) on the person-period rows"),
  vet$month, vet$status, S_vet, at = c(3, 6, 12), level = 0.95, extra_tau = 4.5)
write_case(case_a)

# ---------------------------------------------------------------------------
# (b) simulated: 600 patients, discrete covariates (40 distinct predicted
# curves, so many tied risk scores), monthly drop-off with hazard
# plogis(-2.6 + 0.08 t + 0.5 x1 - 0.7 x2 + 0.8 x3), heavy censoring (about
# 60%), times tied on whole months except about 15% at half months;
# predictions from a deliberately mis-specified model over H = 10 months.

set.seed(20261128)
n <- 600
H_sim <- 10
x1 <- sample(0:3, n, replace = TRUE)
x2 <- rbinom(n, 1, 0.5)
x3 <- sample(c(-1, -0.5, 0, 0.5, 1), n, replace = TRUE)
event_month <- rep(Inf, n)
for (t in 1:30) {
  h <- plogis(-2.6 + 0.08 * t + 0.5 * x1 - 0.7 * x2 + 0.8 * x3)
  drop <- is.infinite(event_month) & runif(n) < h
  event_month[drop] <- t
}
censor_month <- pmin(sample(1:14, n, replace = TRUE), ceiling(rexp(n, 1 / 6)))
time_sim <- pmin(event_month, censor_month)
status_sim <- as.integer(event_month <= censor_month)
half <- runif(n) < 0.15
time_sim[half] <- time_sim[half] - 0.5
S_sim <- curves(n, H_sim, function(t) plogis(-2.3 + 0.05 * t + 0.4 * x1 - 0.5 * x2 + 0.6 * x3))
case_b <- make_case(
  "simulated",
  paste("600 simulated patients (set.seed(20261128)), about 60% censored, times on whole",
        "months but 15% at half months, 40 distinct predicted curves over H = 10 months;",
        "the default months 3, 6, 12 clip to 3, 6, 10"),
  time_sim, status_sim, S_sim, at = c(3, 6, 10), level = 0.9, extra_tau = 5.5)

# A larger Poisson-binomial case: p_k = 0.02 + 0.9 * frac(k * 0.6180339887498949),
# k = 1..20000, which the Go test rebuilds bit for bit.
pk <- 0.02 + 0.9 * ((seq_len(20000) * 0.6180339887498949) %% 1)
mu <- sum(pk)
sdv <- sqrt(sum(pk * (1 - pk)))
ks <- round(mu + sdv * c(-15, -10, -6, -3, -2, -1, -0.5, 0, 0.5, 1, 2, 3, 6, 10, 15))
case_b$poisson_binomial_golden <- c(
  list(p = "p_k = 0.02 + 0.9 * frac(k * 0.6180339887498949), k = 1..20000", n = 20000),
  poibin_case(pk, ks, c(0.9, 0.95, 0.999)))
write_case(case_b)

# ---------------------------------------------------------------------------
# (c) colon: recurrence (etype == 1) in survival::colon in 180-day periods,
# period = ceiling(days / 180), followed up to H = 12 periods: a patient
# without recurrence by period 12 is censored at 12. The last evaluation month
# is then the largest observed time and nobody is followed beyond it, so
# G(12) = 0: the Brier score at 12 has no term weighted by 1/G(12), and pec
# and riskRegression still define it (and the IBS over 1..12); the AUC at 12
# has no control and is undefined. A logistic person-period model with a
# baseline per period is fitted on the patients with an odd id and evaluated
# on the 464 with an even id (in-sample, the calibration intercept would be
# 0 by construction).

col <- subset(survival::colon, etype == 1)
H_col <- 12
col$period <- ceiling(col$time / 180)
col$month <- pmin(col$period, H_col)
col$event <- as.integer(col$status == 1 & col$period <= H_col)
train_col <- col[col$id %% 2 == 1, ]
test_col <- col[col$id %% 2 == 0, ]
pp_col <- do.call(rbind, lapply(seq_len(nrow(train_col)), function(i) {
  t <- seq_len(train_col$month[i])
  data.frame(period = t, event = as.integer(t == train_col$month[i] & train_col$event[i] == 1),
             train_col[rep(i, length(t)), c("rx", "sex", "age", "obstruct", "perfor", "adhere",
                                            "node4", "surg", "extent")])
}))
fit_col <- glm(event ~ 0 + factor(period) + rx + sex + age + obstruct + perfor + adhere + node4 +
                 surg + factor(extent), data = pp_col, family = binomial,
               control = glm.control(epsilon = glm_epsilon, maxit = 100))
S_col <- curves(nrow(test_col), H_col, function(t) {
  nd <- test_col
  nd$period <- t
  predict(fit_col, newdata = nd, type = "response")
})
g_col <- censoring_km(test_col$month, test_col$event)
if (max(test_col$month) != H_col || tail(g_col$surv, 1) != 0) {
  stop("colon: the largest time must be month ", H_col, " with G = 0 there")
}
case_c <- make_case(
  "colon",
  paste("survival::colon recurrence (etype == 1) in 180-day periods, ceiling(days/180),",
        "censored at period 12 when still free of recurrence, so the last month 12 is the",
        "largest time and G(12) = 0; the 464 patients with an even id, S_i(1..12) from",
        "glm(event ~ 0 + factor(period) + rx + sex + age + obstruct + perfor + adhere +",
        "node4 + surg + factor(extent), binomial) on the person-period rows of the 465",
        "with an odd id"),
  test_col$month, test_col$event, S_col, at = c(3, 6, 12), level = 0.95, extra_tau = 7.5)
cat(sprintf("  colon: BS(12) = %.5f (Score), %.5f (pec); IBS(1..12) = %.5f\n",
            tail(case_c$brier$score, 1)[[1]], tail(case_c$brier$pec, 1)[[1]], case_c$ibs))
write_case(case_c)
