// Package survival holds the discrete-time survival mathematics: turning
// monthly hazards into a survival curve and its summaries, and fitting the
// hazard model — a penalised logistic regression on person-period rows — by
// Newton's method (iteratively reweighted least squares).
//
// The package does no I/O and no logging; callers pass progress callbacks.
package survival
