// Command caresignal predicts, for every patient enrolled in a care program,
// the chance of dropping off in each coming month, and serves it as a JSON
// API and a web page. Run "caresignal help" for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, lambdaArgs(os.Args[0], os.Args[1:], os.Getenv), os.Getenv, os.Stdin, os.Stdout, os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "caresignal:", err)
		os.Exit(1)
	}
}

// errUsage marks a command line that could not be parsed; the flag package
// has already said why.
var errUsage = errors.New("usage error")

// env is what a command may touch of the outside world, passed explicitly
// so tests can run commands in-process.
type env struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type command struct {
	name     string
	synopsis string
	run      func(ctx context.Context, e *env, args []string) error
}

func commands() []command {
	return []command{
		{"demo", "generate a synthetic cohort, run the ELT, train, score and serve: the whole pipeline on an embedded database", runDemo},
		{"generate", "fill the source tables with a deterministic synthetic cohort", runGenerate},
		{"load", "load the source tables from CSV files (patients, engagement events, disenrolments)", runLoad},
		{"run", "the scheduled work for an as-of date: ELT, scoring with the production model, the monitoring report", runRun},
		{"check-source", "report what the ELT would see in the source tables (rows, dates, levels, rows left out) without writing", runCheckSource},
		{"etl", "build the person-period table inside the database", runETL},
		{"train", "fit the hazard model on the training extract and save the artifact", runTrain},
		{"import", "convert a scikit-learn pickle, joblib file or MLflow model into a caresignal model", runImport},
		{"inspect", "print a model's summary: coefficients, ratios with intervals, p-values, fit statistics", runInspect},
		{"extract", "write the training extract (person-period rows) to a CSV file", runExtract},
		{"score", "score every currently enrolled patient into the scores table (and CSV)", runScore},
		{"serve", "serve the JSON API and the web app (--mode prod: API keys, roles, login)", runServe},
		{"evaluate", "rescore the prediction log (parity), measure against outcomes, write the monitoring report", runEvaluate},
		{"models", "the model registry: publish, list, activate, rollback, canary and shadow", runModels},
		{"keys", "create, list and revoke API keys for production mode", runKeys},
		{"audit", "print the audit log of administrative actions", runAudit},
		{"predict", "answer one API request body from stdin or a file, without a server", runPredict},
		{"healthcheck", "exit 0 if the server at --addr answers its liveness probe: a container's HEALTHCHECK", runHealthcheck},
		{"lambda", "answer AWS API Gateway events as an AWS Lambda function, with the server's handler", runLambda},
		{"version", "print the build's version", runVersion},
	}
}

// run is the whole program: main only wires it to the process.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	e := &env{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		if len(args) > 1 {
			for _, c := range commands() {
				if c.name == args[1] {
					return c.run(ctx, e, []string{"-h"})
				}
			}
		}
		usage(stdout)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(stderr, "caresignal: unknown command %q\n\n", args[0])
	usage(stderr)
	return errUsage
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "caresignal predicts each enrolled patient's monthly chance of dropping off a care program.")
	fmt.Fprintln(w, "\nUsage: caresignal <command> [flags]")
	fmt.Fprintln(w, "\nCommands:")
	width := 0
	for _, c := range commands() {
		width = max(width, len(c.name))
	}
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.synopsis)
	}
	fmt.Fprintln(w, "\nRun 'caresignal <command> -h' for a command's flags. A flag whose help names an environment")
	fmt.Fprintln(w, "variable (env NAME) can be set there instead; the flag wins.")
	fmt.Fprintln(w, "\nStart here:  caresignal demo")
}

func runVersion(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "version", "", "Print the build's version (the VCS revision it was built from).")
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, "caresignal", codeVersion())
	return nil
}
