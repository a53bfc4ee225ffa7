# Reference fits of discrete-time hazard models with R's glm.
#
# Usage: Rscript fit_glm.R OUT_DIR SYNTHETIC_RAW_CSV
#
# Writes the person-period data sets (veteran.csv, lung.csv, synthetic.csv)
# and one JSON file per glm case into OUT_DIR. fit_sklearn.py then reads the
# same files, cross-checks the glm fits, adds the observed-information
# standard errors of the cloglog cases and the scikit-learn cases, and
# rewrites every JSON file in its final layout.

suppressPackageStartupMessages({
  library(survival)
  library(splines)
})

args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) {
  stop("usage: Rscript fit_glm.R OUT_DIR SYNTHETIC_RAW_CSV")
}
out_dir <- args[[1]]
synthetic_raw <- args[[2]]

min_count <- 5    # events and non-events every baseline period must have
glm_epsilon <- 1e-14
glm_maxit <- 100
continue_tol <- 1e-13
continue_maxit <- 200

r_version <- sprintf("%s.%s", R.version$major, R.version$minor)
survival_version <- packageDescription("survival")$Version

# ---------------------------------------------------------------------------
# JSON output. Lists are arrays (unnamed) or objects (named); atomic values
# must be of length one. Numbers are written with 17 significant digits, so
# they read back as the same doubles.

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
    return(paste0("{", paste(paste0(json_string(names(x)), ":", parts), collapse = ","), "}"))
  }
  if (length(x) != 1) stop("atomic JSON value of length ", length(x), "; wrap arrays in as.list()")
  if (is.na(x)) return("null")
  if (is.logical(x)) return(if (x) "true" else "false")
  if (is.character(x)) return(json_string(x))
  if (is.numeric(x)) return(json_number(x))
  stop("cannot write a value of class ", class(x)[1], " as JSON")
}

write_json <- function(x, path) {
  writeLines(to_json(x), path, useBytes = TRUE)
}

# ---------------------------------------------------------------------------
# Data preparation.

# Format a data frame column for CSV: numbers with 17 significant digits
# (integers come out as integers), strings as they are.
csv_column <- function(x) {
  if (is.numeric(x)) {
    if (any(!is.finite(x))) stop("non-finite value in a numeric column")
    out <- sprintf("%.17g", x)
    out[x == 0] <- "0"
    return(out)
  }
  x <- as.character(x)
  if (any(is.na(x))) stop("missing value in a categorical column")
  if (any(grepl("[\",\n]", x))) stop("a categorical value needs quoting")
  x
}

write_csv <- function(d, path) {
  cols <- lapply(d, csv_column)
  lines <- do.call(paste, c(cols, sep = ","))
  writeLines(c(paste(names(d), collapse = ","), lines), path, useBytes = TRUE)
}

# The last period P such that, once every period >= P is pooled into P, each
# period 1..P has at least min_count events and min_count non-events.
choose_pool <- function(period, event) {
  best <- NA_integer_
  for (P in seq_len(max(period))) {
    p <- pmin(period, P)
    ev <- tabulate(p[event == 1], P)
    ne <- tabulate(p[event == 0], P)
    if (all(ev >= min_count & ne >= min_count)) best <- P
  }
  if (is.na(best)) stop("no pooling leaves ", min_count, " events and non-events in every period")
  best
}

# Person-period rows: period k covers (width*(k-1), width*k]; a subject has
# rows 1..ceiling(time/width) and an event only in the last row, when it died.
expand <- function(d, width) {
  pp <- survSplit(Surv(time, dead) ~ ., data = d, cut = seq(width, max(d$time), by = width),
                  episode = "period")
  pp <- pp[order(pp$id, pp$period), ]
  n_periods <- tapply(pp$period, pp$id, max)
  if (!all(n_periods == ceiling(d$time[match(names(n_periods), d$id)] / width))) {
    stop("survSplit did not give ceiling(time/width) periods per subject")
  }
  pp$event <- pp$dead
  pp
}

pool <- function(pp, label) {
  P <- choose_pool(pp$period, pp$event)
  cat(sprintf("%s: %d periods before pooling; pooled from period %d (%d rows, %d events)\n",
              label, max(pp$period), P, nrow(pp), sum(pp$event)))
  pp$period <- pmin(pp$period, P)
  pp
}

# Population standard deviation (divisor n), as the project's standardize
# transform uses.
standardize <- function(x) {
  m <- mean(x)
  (x - m) / sqrt(mean((x - m)^2))
}

prepare_veteran <- function() {
  v <- survival::veteran
  v$id <- seq_len(nrow(v))
  v <- v[, c("id", "time", "status", "karno", "diagtime", "age", "celltype", "trt", "prior")]
  v$dead <- as.integer(v$status == 1)
  v$celltype <- as.character(v$celltype)
  pp <- pool(expand(v, 30), "veteran")
  pp[, c("id", "period", "event", "karno", "diagtime", "age", "celltype", "trt", "prior")]
}

prepare_lung <- function() {
  l <- survival::lung
  l$id <- seq_len(nrow(l))
  l <- l[, c("id", "time", "status", "age", "sex", "ph.ecog", "ph.karno", "wt.loss")]
  l <- l[complete.cases(l), ]
  # ph.ecog levels with fewer than min_count subjects are merged into the next
  # lower level (in lung: the single subject with ph.ecog 3 joins level 2).
  repeat {
    counts <- table(l$ph.ecog)
    top <- max(l$ph.ecog)
    if (counts[[as.character(top)]] >= min_count) break
    cat(sprintf("lung: ph.ecog %d has %d subject(s); merged into %d\n",
                top, counts[[as.character(top)]], top - 1))
    l$ph.ecog[l$ph.ecog == top] <- top - 1
  }
  l$dead <- as.integer(l$status == 2)
  pp <- pool(expand(l, 60), "lung")
  pp$ph_karno <- pp$ph.karno
  pp$wt_loss <- pp$wt.loss
  pp$ph_ecog <- pp$ph.ecog
  pp <- pp[, c("id", "period", "event", "age", "ph_karno", "wt_loss", "sex", "ph_ecog")]
  for (col in c("age", "ph_karno", "wt_loss")) pp[[paste0(col, "_std")]] <- standardize(pp[[col]])
  pp
}

prepare_synthetic <- function(path) {
  raw <- read.csv(path, colClasses = "character", na.strings = character(0))
  keep_num <- c("age", "prior_no_shows", "sessions_last_month", "messages_last_month")
  keep_cat <- c("sex", "program", "channel", "enrolled_via")
  for (col in c("month", "event", keep_num, keep_cat)) {
    if (any(raw[[col]] == "")) stop("synthetic: missing values in ", col)
  }
  pp <- data.frame(id = raw$patient_id, period = as.integer(raw$month),
                   event = as.integer(raw$event), stringsAsFactors = FALSE)
  for (col in keep_num) pp[[col]] <- as.numeric(raw[[col]])
  for (col in keep_cat) pp[[col]] <- raw[[col]]
  pp <- pp[order(pp$id, pp$period), ]
  pp <- pool(pp, "synthetic")
  for (col in keep_num) pp[[paste0(col, "_std")]] <- standardize(pp[[col]])
  pp
}

# Write the data set and read it back, so that the fits below use exactly
# what the CSV file holds. Categorical columns become factors whose levels
# are sorted bytewise; the first level is the reference.
write_and_read <- function(pp, name, categorical) {
  path <- file.path(out_dir, paste0(name, ".csv"))
  write_csv(pp, path)
  classes <- ifelse(names(pp) %in% c("id", categorical), "character", "numeric")
  d <- read.csv(path, colClasses = classes)
  if (!isTRUE(all.equal(dim(d), dim(pp)))) stop("CSV round trip changed the shape of ", name)
  for (col in categorical) d[[col]] <- factor(d[[col]], levels = sort(unique(d[[col]]), method = "radix"))
  d
}

# ---------------------------------------------------------------------------
# Fitting and output.

# Three subjects whose categorical values differ as much as possible: each
# next subject is the first one (in id order) with the most categorical values
# not yet seen among the chosen ones. Covariates are taken from its first row.
pick_subjects <- function(d, categorical, n = 3) {
  first <- d[!duplicated(d$id), ]
  chosen <- integer(0)
  for (k in seq_len(n)) {
    score <- rep(0, nrow(first))
    for (col in categorical) {
      score <- score + !(as.character(first[[col]]) %in% as.character(first[[col]][chosen]))
    }
    score[chosen] <- -1
    chosen <- c(chosen, which.max(score))
  }
  first[chosen, ]
}

subject_features <- function(row, numeric, categorical) {
  f <- list()
  for (col in numeric) f[[col]] <- row[[col]]
  for (col in categorical) f[[col]] <- as.character(row[[col]])
  f
}

# Our coefficient names for R's, in our order: baseline terms, numeric
# covariates in the listed order, then each categorical column's non-reference
# levels in sorted order.
coefficient_map <- function(d, numeric, categorical, baseline, P, breaks = NULL) {
  r <- character(0)
  ours <- character(0)
  if (baseline == "periods") {
    r <- c(r, paste0("factor(period)", seq_len(P)))
    months <- paste0("month_", seq_len(P))
    months[P] <- paste0(months[P], "+")
    ours <- c(ours, months)
  } else if (baseline == "piecewise") {
    r <- c(r, paste0(piecewise_term(breaks), seq_along(breaks)))
    ours <- c(ours, piecewise_names(breaks, P))
  }
  r <- c(r, numeric)
  ours <- c(ours, numeric)
  for (col in categorical) {
    lv <- levels(d[[col]])[-1]
    r <- c(r, paste0(col, lv))
    ours <- c(ours, paste0(col, "=", lv))
  }
  list(r = r, ours = ours)
}

# The interval term of a piecewise-constant baseline: interval t covers
# periods breaks[t] .. breaks[t+1]-1, the last one every later period.
piecewise_term <- function(breaks) {
  sprintf("factor(findInterval(period, c(%s)))", paste(breaks, collapse = ", "))
}

# Our names of the intervals: month_k for one period, months_a-b for several,
# a trailing + on the last (months_a+ when it spans more than one period).
piecewise_names <- function(breaks, P) {
  n <- length(breaks)
  vapply(seq_len(n), function(t) {
    s <- breaks[t]
    if (t == n) {
      if (s < P) sprintf("months_%d+", s) else sprintf("month_%d+", s)
    } else if (breaks[t + 1] == s + 1) {
      sprintf("month_%d", s)
    } else {
      sprintf("months_%d-%d", s, breaks[t + 1] - 1)
    }
  }, character(1))
}

fit_case <- function(case, d, data_file, numeric, categorical, link, baseline = "periods",
                     subject_label, breaks = NULL) {
  P <- max(d$period)
  rhs <- c(numeric, categorical)
  if (baseline == "periods") {
    rhs <- c("0", "factor(period)", rhs)
  } else if (baseline == "piecewise") {
    rhs <- c("0", piecewise_term(breaks), rhs)
  } else if (baseline == "spline") {
    rhs <- c("ns(period, df = 3)", rhs)
  } else {
    stop("unknown baseline ", baseline)
  }
  form <- as.formula(paste("event ~", paste(rhs, collapse = " + ")))
  fit <- glm(form, data = d, family = binomial(link = link),
             control = glm.control(epsilon = glm_epsilon, maxit = glm_maxit))
  if (!fit$converged) stop(case, ": glm did not converge")
  first_iter <- fit$iter
  # glm stops when the deviance changes by less than epsilon, relatively. Near
  # the optimum the deviance is flat, and with a non-canonical link (cloglog)
  # Fisher scoring converges only linearly, so it stops with coefficients
  # up to ~1e-6 (relative) from the optimum. Continue the same iteration, one
  # glm step at a time from the previous estimate, until no coefficient moves
  # by more than continue_tol relative to max(1, |estimate|).
  extra <- 0
  repeat {
    before <- coef(fit)
    fit <- withCallingHandlers(
      glm(form, data = d, family = binomial(link = link), start = before,
          control = glm.control(epsilon = glm_epsilon, maxit = 1)),
      warning = function(w) {
        if (grepl("did not converge", conditionMessage(w))) invokeRestart("muffleWarning")
      })
    extra <- extra + 1
    moved <- max(abs(coef(fit) - before) / pmax(1, abs(before)))
    if (moved <= continue_tol) break
    if (extra >= continue_maxit) stop(case, ": Fisher scoring did not settle (last move ", moved, ")")
  }
  if (any(is.na(coef(fit)))) stop(case, ": aliased coefficients: ",
                                  paste(names(coef(fit))[is.na(coef(fit))], collapse = ", "))

  cm <- coefficient_map(d, numeric, categorical, baseline, P, breaks)
  est <- coef(fit)
  se <- sqrt(diag(vcov(fit)))
  if (baseline %in% c("periods", "piecewise") && !setequal(names(est), cm$r)) {
    stop(case, ": unexpected coefficient names: ", paste(names(est), collapse = ", "))
  }
  if (!all(cm$r %in% names(est))) stop(case, ": missing coefficients")
  coefs <- lapply(seq_along(cm$r), function(i) {
    list(name = cm$ours[[i]], estimate = unname(est[[cm$r[[i]]]]), std_error = unname(se[[cm$r[[i]]]]))
  })

  p <- fitted(fit)
  y <- d$event
  loglik <- sum(ifelse(y == 1, log(p), log1p(-p)))
  if (abs(loglik - as.numeric(logLik(fit))) > 1e-8 * abs(loglik)) stop(case, ": logLik mismatch")
  if (abs(-2 * loglik - deviance(fit)) > 1e-8 * abs(loglik)) stop(case, ": deviance is not -2 logLik")
  k <- fit$rank
  n <- nrow(d)

  baseline_json <- list(type = "periods")
  if (baseline == "piecewise") baseline_json <- list(type = "piecewise", breaks = as.list(breaks))
  if (baseline == "spline") {
    basis <- ns(d$period, df = 3)
    knots <- unname(attr(basis, "knots"))
    boundary <- unname(attr(basis, "Boundary.knots"))
    predvars <- attr(terms(fit), "predvars")
    stub <- function(x, df, knots, Boundary.knots, intercept) list(unname(knots), unname(Boundary.knots))
    used <- eval(predvars[[3]], list(ns = stub))
    if (!isTRUE(all.equal(used, list(knots, boundary), tolerance = 0))) stop(case, ": spline knots differ from the model's")
    baseline_json <- list(type = "spline", df = 3, knots = as.list(knots), boundary = as.list(boundary))
  }

  subjects <- pick_subjects(d, categorical)
  subject_json <- lapply(seq_len(nrow(subjects)), function(i) {
    row <- subjects[i, , drop = FALSE]
    nd <- row[rep(1, P), , drop = FALSE]
    nd$period <- seq_len(P)
    h <- unname(predict(fit, newdata = nd, type = "response"))
    list(name = sprintf("%s id %s", subject_label, row$id),
         features = subject_features(row, numeric, categorical),
         hazard = as.list(h), survival = as.list(cumprod(1 - h)))
  })

  out <- list(
    case = case,
    reference = sprintf(paste0("R %s glm (survival %s for the data), binomial(link = \"%s\"), glm.control(epsilon = %g, maxit = %d), ",
                               "then single glm steps (start = previous estimate) until no coefficient moves by more than %g relative"),
                        r_version, survival_version, link, glm_epsilon, glm_maxit, continue_tol),
    data = data_file,
    id = "id", event = "event", period = "period",
    numeric = as.list(numeric),
    categorical = as.list(categorical),
    link = link,
    baseline = baseline_json,
    penalty = list(type = "none"),
    tolerance = 1e-6,
    coefficients = coefs,
    log_likelihood = loglik,
    deviance = deviance(fit),
    aic = fit$aic,
    bic = -2 * loglik + k * log(n),
    n_rows = n,
    n_events = sum(y),
    subjects = subject_json
  )
  write_json(out, file.path(out_dir, paste0(case, ".json")))
  cat(sprintf("%-28s rows %6d  events %5d  periods %2d  coefficients %2d  glm iterations %2d + %2d  logLik %.6f\n",
              case, n, sum(y), P, k, first_iter, extra, loglik))
}

# ---------------------------------------------------------------------------

veteran <- write_and_read(prepare_veteran(), "veteran", c("celltype", "trt", "prior"))
lung <- write_and_read(prepare_lung(), "lung", c("sex", "ph_ecog"))
synthetic <- write_and_read(prepare_synthetic(synthetic_raw), "synthetic",
                            c("sex", "program", "channel", "enrolled_via"))

vet_num <- c("karno", "diagtime", "age")
vet_cat <- c("celltype", "trt", "prior")
fit_case("veteran_logit", veteran, "veteran.csv", vet_num, vet_cat, "logit", subject_label = "veteran")
fit_case("veteran_cloglog", veteran, "veteran.csv", vet_num, vet_cat, "cloglog", subject_label = "veteran")
fit_case("veteran_categorical_cloglog", veteran, "veteran.csv", character(0), vet_cat, "cloglog",
         subject_label = "veteran")
fit_case("veteran_spline_logit", veteran, "veteran.csv", c("karno", "age"), "celltype", "logit",
         baseline = "spline", subject_label = "veteran")

lung_num <- c("age", "ph_karno", "wt_loss")
lung_cat <- c("sex", "ph_ecog")
fit_case("lung_logit", lung, "lung.csv", lung_num, lung_cat, "logit", subject_label = "lung")
fit_case("lung_cloglog", lung, "lung.csv", lung_num, lung_cat, "cloglog", subject_label = "lung")
fit_case("lung_piecewise_cloglog", lung, "lung.csv", lung_num, lung_cat, "cloglog", subject_label = "lung",
         baseline = "piecewise", breaks = c(1, 2, 4, 7))

syn_num <- c("age", "prior_no_shows", "sessions_last_month", "messages_last_month")
syn_cat <- c("sex", "program", "channel", "enrolled_via")
fit_case("synthetic_logit", synthetic, "synthetic.csv", syn_num, syn_cat, "logit", subject_label = "synthetic")
fit_case("synthetic_cloglog", synthetic, "synthetic.csv", syn_num, syn_cat, "cloglog", subject_label = "synthetic")
