# Reference fits of landmark (direct multi-horizon) hazard models with R's
# glm, and their cluster-robust covariance with the sandwich package.
#
# Usage: Rscript landmark.R OUT_DIR
#
# For each case it builds person-period rows from a data set that ships
# with R's survival package, stacks them as a landmark model does (for each
# row of month t and each lag k < LAGS, the row of month t+k of the same
# subject, with the features of month t), groups the lags by the rule of
# model.Landmark (in order, a group closed once it has max(10, 10 × feature
# columns) events and a row without one; a sparse run at the end joins the
# group before it), fits
#
#   g(h) = alpha(month t+k) + gamma(group of k) + beta(group of k) . x(t)
#
# with glm (no penalty), and writes the person-period CSV and one JSON file
# with the coefficients, the model-based and the cluster-robust standard
# errors (sandwich::vcovCL, cluster = subject, HC0 with the G/(G-1)
# adjustment, checked against the formula by hand) and the hazards of named
# subjects months ahead.

suppressPackageStartupMessages({
  library(survival)
  library(sandwich)
  library(jsonlite)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript landmark.R OUT_DIR")
out_dir <- args[[1]]

# person_period: one row per subject and period at risk, 1..min(period of
# the end, maxp); event 1 in the period of an event within maxp.
person_period <- function(d, days, maxp, covars) {
  rows <- vector("list", nrow(d))
  for (i in seq_len(nrow(d))) {
    p <- ceiling(d$time[i] / days)
    last <- min(p, maxp)
    ev <- d$event[i] == 1 && p <= maxp
    r <- data.frame(id = d$id[i], period = seq_len(last), event = 0L)
    if (ev) r$event[last] <- 1L
    for (v in covars) r[[v]] <- d[[v]][i]
    rows[[i]] <- r
  }
  do.call(rbind, rows)
}

# stack_landmark: the landmark rows of a person-period table.
stack_landmark <- function(pp, lags) {
  out <- list()
  n <- 0
  for (s in split(pp, factor(pp$id, levels = unique(pp$id)))) {
    s <- s[order(s$period), ]
    for (i in seq_len(nrow(s))) {
      for (k in 0:(lags - 1)) {
        j <- which(s$period == s$period[i] + k)
        if (length(j) == 0) break
        n <- n + 1
        out[[n]] <- c(landmark = as.integer(rownames(s)[i]), target = as.integer(rownames(s)[j]), lag = k)
        if (s$event[j] == 1) break
      }
    }
  }
  idx <- as.data.frame(do.call(rbind, out))
  st <- pp[idx$landmark, ]
  st$lag <- idx$lag
  st$target <- pp$period[idx$target]
  st$y <- pp$event[idx$target]
  st
}

lag_groups <- function(rows, events, min_events) {
  starts <- integer(0)
  start <- 0; ev <- 0; n <- 0
  for (k in seq_along(rows) - 1) {
    ev <- ev + events[k + 1]; n <- n + rows[k + 1]
    if (ev >= min_events && n > ev) {
      starts <- c(starts, start)
      start <- k + 1; ev <- 0; n <- 0
    }
  }
  if (length(starts) == 0) starts <- 0
  starts
}

group_name <- function(starts, g, last_lag) {
  s <- starts[g]
  if (g == length(starts)) {
    return(if (s < last_lag) sprintf("lags_%d+", s) else sprintf("lag_%d+", s))
  }
  e <- starts[g + 1] - 1
  if (e == s) sprintf("lag_%d", s) else sprintf("lags_%d-%d", s, e)
}

run_case <- function(name, pp, numeric, categorical, link, lags) {
  pp_file <- paste0(name, "_pp.csv")
  write.csv(pp, file.path(out_dir, pp_file), row.names = FALSE, quote = FALSE)
  rownames(pp) <- seq_len(nrow(pp))
  st <- stack_landmark(pp, lags)

  # The spec's features: numeric columns as given, categorical one-hot
  # against the first level in sorted order.
  feat <- matrix(nrow = nrow(st), ncol = 0)
  for (v in numeric) feat <- cbind(feat, setNames(data.frame(st[[v]]), v))
  for (v in categorical) {
    lv <- sort(unique(as.character(pp[[v]])))
    for (l in lv[-1]) feat <- cbind(feat, setNames(data.frame(as.numeric(st[[v]] == l)), paste0(v, "=", l)))
  }
  feat <- as.matrix(feat)
  nf <- ncol(feat)

  P <- max(pp$period)
  base <- sapply(seq_len(P), function(m) as.numeric(pmin(st$target, P) == m))
  colnames(base) <- c(sprintf("month_%d", seq_len(P - 1)), sprintf("month_%d+", P))

  lag_rows <- as.integer(table(factor(st$lag, levels = 0:max(st$lag))))
  lag_events <- as.integer(tapply(st$y, factor(st$lag, levels = 0:max(st$lag)), sum))
  min_events <- max(10, 10 * nf)
  starts <- lag_groups(lag_rows, lag_events, min_events)
  last_lag <- length(lag_rows) - 1
  group_of <- function(k) max(which(starts <= k))
  g <- vapply(st$lag, group_of, integer(1))

  X <- cbind(base, feat * (g == 1))
  for (gi in seq_along(starts)[-1]) {
    gn <- group_name(starts, gi, last_lag)
    block <- cbind(as.numeric(g == gi), feat * (g == gi))
    colnames(block) <- c(gn, paste0(gn, ":", colnames(feat)))
    X <- cbind(X, block)
  }
  fam <- binomial(link = link)
  y <- st$y
  fit <- glm(y ~ 0 + X, family = fam, control = glm.control(epsilon = 1e-14, maxit = 100))
  if (!fit$converged) stop(name, ": glm did not converge")
  beta <- coef(fit)
  names(beta) <- colnames(X)
  # glm stops on the deviance's change, which leaves the coefficients
  # about sqrt(epsilon) from the optimum: Fisher scoring continues to
  # max|step| <= 1e-13 (1 + |beta|).
  for (it in 1:50) {
    eta <- drop(X %*% beta)
    mu <- fam$linkinv(eta)
    me <- fam$mu.eta(eta)
    w <- me^2 / fam$variance(mu)
    step <- solve(crossprod(X, X * w), crossprod(X, (st$y - mu) * me / fam$variance(mu)))
    beta <- beta + drop(step)
    if (max(abs(step)) <= 1e-13 * (1 + max(abs(beta)))) break
  }
  if (it == 50) stop(name, ": Fisher scoring did not converge")
  # The sandwich at beta: scores (y − mu)·(dmu/deta)/V(mu)·x summed by
  # subject, between two model-based covariances (the inverse expected
  # information), times G/(G−1). glm's own weights, which summary.glm and
  # sandwich::vcovCL read, are those of the iterate before the last (its
  # convergence test is on the deviance, so they differ from the weights at
  # beta by about 1e-7): the sandwich is computed here at beta itself, and
  # vcovCL must agree with it to 1e-5.
  eta <- drop(X %*% beta)
  mu <- fam$linkinv(eta)
  w <- fam$mu.eta(eta)^2 / fam$variance(mu)
  cov_model <- solve(crossprod(X, X * w))
  u <- (st$y - mu) * fam$mu.eta(eta) / fam$variance(mu)
  S <- rowsum(X * u, st$id)
  G <- nrow(S)
  robust <- G / (G - 1) * cov_model %*% crossprod(S) %*% cov_model
  pkg <- vcovCL(fit, cluster = st$id, type = "HC0", cadjust = TRUE)
  d <- max(abs(pkg - robust)) / max(abs(robust))
  if (d > 1e-5) stop(name, ": sandwich::vcovCL and the sandwich at beta differ by ", d)
  cat(sprintf("%s: sandwich::vcovCL agrees with the sandwich at beta to %.1e\n", name, d))

  coefs <- lapply(seq_along(beta), function(j) list(
    name = colnames(X)[j], estimate = unname(beta[j]),
    std_error = sqrt(robust[j, j]), std_error_model = sqrt(cov_model[j, j])))

  # Named subjects: their first row's features, scored from month
  # period − 1 enrolled, lags + 2 months ahead (past the last lag, which
  # scores as the last group; past P, as month P).
  subj <- list()
  for (id in unique(pp$id)[c(1, 7, 20)]) {
    row <- pp[pp$id == id, ][1, ]
    x <- numeric(0)
    for (v in numeric) x <- c(x, row[[v]])
    for (v in categorical) {
      lv <- sort(unique(as.character(pp[[v]])))
      x <- c(x, as.numeric(row[[v]] == lv[-1]))
    }
    hz <- numeric(0)
    for (k in 0:(lags + 1)) {
      gi <- group_of(min(k, last_lag))
      month <- min(row$period + k, P)
      e <- beta[month]
      if (gi == 1) {
        e <- e + sum(beta[P + seq_len(nf)] * x)
      } else {
        off <- P + nf + (gi - 2) * (1 + nf)
        e <- e + beta[off + 1] + sum(beta[off + 1 + seq_len(nf)] * x)
      }
      hz <- c(hz, fam$linkinv(unname(e)))
    }
    feats <- list()
    for (v in c(numeric, categorical)) feats[[v]] <- row[[v]]
    subj[[length(subj) + 1]] <- list(id = as.character(id), months_enrolled = row$period - 1, features = feats, hazard = I(hz))
  }

  out <- list(case = name, reference = sprintf("R %s.%s glm, sandwich %s", R.version$major, R.version$minor, packageDescription("sandwich")$Version),
    data = pp_file, id = "id", event = "event", period = "period", numeric = I(numeric), categorical = I(categorical),
    link = link, lags = lags, min_events = min_events, lag_rows = I(lag_rows), lag_events = I(lag_events), lag_starts = I(starts),
    n_rows = nrow(st), n_events = sum(st$y), patients = G, log_likelihood = sum(st$y * log(mu) + (1 - st$y) * log(1 - mu)),
    coefficients = coefs, subjects = subj)
  write_json(out, file.path(out_dir, paste0(name, ".json")), auto_unbox = TRUE, digits = NA, pretty = TRUE)
  cat(sprintf("%s: %d person-period rows, %d stacked, %d lag groups, %d coefficients\n", name, nrow(pp), nrow(st), length(starts), length(beta)))
}

vet <- survival::veteran
vet$id <- seq_len(nrow(vet))
vet$event <- vet$status
vet$celltype <- as.character(vet$celltype)
run_case("veteran_landmark_logit", person_period(vet, 30, 8, c("karno", "celltype")), c("karno"), c("celltype"), "logit", 4)

lung <- survival::lung
lung <- lung[complete.cases(lung[, c("age", "sex", "ph.karno")]), ]
lung$id <- seq_len(nrow(lung))
lung$event <- as.integer(lung$status == 2)
lung$sex <- ifelse(lung$sex == 1, "m", "f")
lung$karno <- lung$ph.karno
run_case("lung_landmark_cloglog", person_period(lung, 60, 8, c("age", "karno", "sex")), c("age", "karno"), c("sex"), "cloglog", 3)
