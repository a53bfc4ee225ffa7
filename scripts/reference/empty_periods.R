# Reference fits for baselines with a period that has no events.
#
# Usage: Rscript empty_periods.R OUT_DIR
#
# Discretises R's veteran and lung data at cut points chosen so that one
# period has deaths in no subject at risk: veteran (63, 71] days, a middle
# period, and lung (0, 4] days, the first. For each it writes the
# person-period data set and one JSON file with two glm fits (logit link):
#
# * per_period: a term per period, as glm gives it. The empty period's
#   maximum-likelihood estimate is -Inf; glm stops at a large negative value
#   (with "fitted probabilities numerically 0 occurred"), which is recorded
#   with the log-likelihood, so that the separated period can be checked.
# * pooled: the project's default "months" baseline rule, implemented here
#   on its own: periods are taken in order and each run of periods is closed
#   once it has min_events events and a row without one; a run left at the
#   end joins the run before it. (In veteran every subject still at risk
#   after 250 days died: the last period's rows all have events, so it
#   joins the one before.) The glm fit with one term per run gives the coefficients,
#   standard errors and log-likelihood the project must reproduce.

suppressPackageStartupMessages(library(survival))

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 1) stop("usage: Rscript empty_periods.R OUT_DIR")
out_dir <- args[[1]]

min_events <- 10  # the project's default baseline.min_events
glm_epsilon <- 1e-14
glm_maxit <- 100

# ---------------------------------------------------------------------------
# JSON and CSV output, as in fit_glm.R.

json_string <- function(s) paste0("\"", gsub("\"", "\\\"", gsub("\\", "\\\\", s, fixed = TRUE), fixed = TRUE), "\"")

to_json <- function(x) {
  if (is.null(x)) return("null")
  if (is.list(x)) {
    parts <- vapply(x, to_json, character(1), USE.NAMES = FALSE)
    if (is.null(names(x))) return(paste0("[", paste(parts, collapse = ","), "]"))
    return(paste0("{", paste(paste0(json_string(names(x)), ":", parts), collapse = ","), "}"))
  }
  if (length(x) != 1) stop("atomic JSON value of length ", length(x), "; wrap arrays in as.list()")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x)) return(json_string(x))
  if (!is.finite(x)) stop("non-finite number in JSON output")
  if (x == 0) return("0")
  sprintf("%.17g", x)
}

csv_column <- function(x) {
  if (!is.numeric(x)) return(as.character(x))
  out <- sprintf("%.17g", x)
  out[x == 0] <- "0"
  out
}

write_csv <- function(d, path) {
  lines <- do.call(paste, c(lapply(d, csv_column), sep = ","))
  writeLines(c(paste(names(d), collapse = ","), lines), path, useBytes = TRUE)
}

# ---------------------------------------------------------------------------

# Person-period rows: period k covers (cuts[k-1], cuts[k]] days (cuts[0] = 0);
# a subject has a row for every period it enters, with the event in the last
# one when it died.
expand <- function(d, cuts) {
  pp <- survSplit(Surv(time, dead) ~ ., data = d, cut = cuts, episode = "period")
  pp <- pp[order(pp$id, pp$period), ]
  pp$event <- pp$dead
  pp
}

# The runs of the default baseline: first periods of the runs.
pool_runs <- function(events, rows) {
  starts <- integer(0)
  start <- 1
  ev <- 0
  n <- 0
  for (p in seq_along(events)) {
    ev <- ev + events[[p]]
    n <- n + rows[[p]]
    if (ev >= min_events && n > ev) {
      starts <- c(starts, start)
      start <- p + 1
      ev <- 0
      n <- 0
    }
  }
  if (length(starts) == 0) starts <- 1
  starts
}

# Our names of the terms: month_k for one period, months_a-b for several, a
# trailing + on the last (months_a+ when it spans more than one period).
term_names <- function(starts, P) {
  n <- length(starts)
  vapply(seq_len(n), function(t) {
    s <- starts[t]
    if (t == n) {
      if (s < P) sprintf("months_%d+", s) else sprintf("month_%d+", s)
    } else if (starts[t + 1] == s + 1) {
      sprintf("month_%d", s)
    } else {
      sprintf("months_%d-%d", s, starts[t + 1] - 1)
    }
  }, character(1))
}

fit <- function(form, d) {
  withCallingHandlers(
    glm(form, data = d, family = binomial(link = "logit"),
        control = glm.control(epsilon = glm_epsilon, maxit = glm_maxit)),
    warning = function(w) {
      # Expected for the per-period fit: the empty period's hazard goes to 0.
      if (grepl("fitted probabilities numerically 0", conditionMessage(w))) invokeRestart("muffleWarning")
    })
}

# Coefficients in our order and names: the baseline terms, the numeric
# covariates, then each categorical covariate's non-reference levels.
coefficients <- function(m, d, baseline_r, baseline_ours, numeric, categorical, se = TRUE) {
  r <- c(baseline_r, numeric)
  ours <- c(baseline_ours, numeric)
  for (col in categorical) {
    lv <- levels(d[[col]])[-1]
    r <- c(r, paste0(col, lv))
    ours <- c(ours, paste0(col, "=", lv))
  }
  est <- coef(m)
  if (!setequal(names(est), r)) stop("unexpected coefficients: ", paste(names(est), collapse = ", "))
  sds <- sqrt(diag(vcov(m)))
  lapply(seq_along(r), function(i) {
    out <- list(name = ours[[i]], estimate = unname(est[[r[[i]]]]))
    if (se) out$std_error <- unname(sds[[r[[i]]]])
    out
  })
}

case <- function(name, d, cuts, numeric, categorical) {
  pp <- expand(d, cuts)
  pp <- pp[, c("id", "period", "event", numeric, categorical)]
  data_file <- paste0(name, ".csv")
  write_csv(pp, file.path(out_dir, data_file))
  d <- read.csv(file.path(out_dir, data_file),
                colClasses = ifelse(names(pp) %in% c("id", categorical), "character", "numeric"))
  for (col in categorical) d[[col]] <- factor(d[[col]], levels = sort(unique(d[[col]]), method = "radix"))
  P <- max(d$period)
  events <- tabulate(d$period[d$event == 1], P)
  empty <- which(events == 0)
  if (length(empty) != 1) stop(name, ": want exactly one period without events, have ", length(empty))
  rhs <- paste(c(numeric, categorical), collapse = " + ")

  per <- fit(as.formula(paste("event ~ 0 + factor(period) +", rhs)), d)
  per_names <- sprintf("month_%d", seq_len(P))
  per_names[P] <- paste0(per_names[P], "+")

  starts <- pool_runs(events, tabulate(d$period, P))
  d$run <- factor(findInterval(d$period, starts))
  pooled <- fit(as.formula(paste("event ~ 0 + run +", rhs)), d)
  if (!pooled$converged) stop(name, ": the pooled glm did not converge")
  loglik <- function(m) as.numeric(logLik(m))

  out <- list(
    case = name,
    reference = sprintf("R %s.%s glm (survival %s for the data), binomial(link = \"logit\"), glm.control(epsilon = %g, maxit = %d)",
                        R.version$major, R.version$minor, packageDescription("survival")$Version, glm_epsilon, glm_maxit),
    data = data_file, id = "id", event = "event", period = "period",
    numeric = as.list(numeric), categorical = as.list(categorical),
    cuts_days = as.list(cuts),
    events_per_period = as.list(events),
    rows_per_period = as.list(tabulate(d$period, P)),
    empty_period = empty,
    min_events = min_events,
    tolerance = 1e-6,
    per_period = list(
      log_likelihood = loglik(per),
      coefficients = coefficients(per, d, paste0("factor(period)", seq_len(P)), per_names, numeric, categorical, se = FALSE)),
    pooled = list(
      starts = as.list(starts),
      log_likelihood = loglik(pooled),
      n_rows = nrow(d), n_events = sum(d$event),
      coefficients = coefficients(pooled, d, paste0("run", seq_along(starts)), term_names(starts, P), numeric, categorical))
  )
  writeLines(to_json(out), file.path(out_dir, paste0(name, ".json")), useBytes = TRUE)
  cat(sprintf("%-22s rows %5d  events %4d  periods %d, period %d empty; runs start at %s; logLik per period %.4f, pooled %.4f\n",
              name, nrow(d), sum(d$event), P, empty, paste(starts, collapse = ","), loglik(per), loglik(pooled)))
}

v <- survival::veteran
v$id <- sprintf("v%03d", seq_len(nrow(v)))
v$dead <- as.integer(v$status == 1)
v$celltype <- as.character(v$celltype)
case("veteran_empty_middle", v, c(30, 63, 71, 100, 150, 250), c("karno", "age"), "celltype")

l <- survival::lung
l$id <- sprintf("l%03d", seq_len(nrow(l)))
l <- l[complete.cases(l[, c("time", "status", "age", "sex", "ph.ecog")]), ]
l$dead <- as.integer(l$status == 2)
l$ph_ecog <- as.character(pmin(l$ph.ecog, 2))  # the one subject with 3 joins 2
l$sex <- as.character(l$sex)
case("lung_empty_first", l, c(4, 60, 120, 180, 240, 300, 400, 550), "age", c("sex", "ph_ecog"))
