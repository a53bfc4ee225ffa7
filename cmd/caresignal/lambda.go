package main

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/cmd/serverless"
)

// runLambda is the AWS Lambda entry point: it sets the function up once
// from the environment (the model loads here, before the first event),
// then answers API Gateway events from the Lambda Runtime API until the
// platform stops the instance. It never returns once the runtime loop
// has started.
func runLambda(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "lambda", "", `Answer AWS API Gateway events (REST API v1 and HTTP API v2 payloads) as an AWS Lambda function,
with the server's own handler: the same routes, answers and API key checks as caresignal serve.
Runs on the provided.al2023 runtime, whose bootstrap executable is this binary (named or linked
"bootstrap", it runs this command when given no arguments); settings come from the environment:

  CARESIGNAL_MODEL                     the model artifact (default engagement.model.json beside the binary)
  CARESIGNAL_DB, else DATABASE_URL     the database: API keys, the model registry, the prediction log
  CARESIGNAL_MODE                      prod (default: API keys) or dev (no access control, chosen explicitly)
  CARESIGNAL_TRUST_GATEWAY_AUTHORIZER  true: callers the gateway's authorizer admitted get the predict role,
                                       others 401; no API keys checked
  CARESIGNAL_PSEUDONYM_KEY, CARESIGNAL_SPILL_DIR (default /tmp/caresignal-spill)

The prediction log is flushed before each invocation returns. See docs/deploy.md.`)
	if err := parse(fs, args); err != nil {
		return err
	}
	api := e.getenv("AWS_LAMBDA_RUNTIME_API")
	if api == "" {
		return caresignal.Invalidf("lambda", "caresignal lambda runs inside AWS Lambda, which sets AWS_LAMBDA_RUNTIME_API; it is not set. To serve HTTP, run caresignal serve")
	}
	c, err := serverless.ConfigFromEnv(e.getenv)
	if err != nil {
		return err
	}
	f, err := serverless.New(ctx, c)
	if err != nil {
		return err
	}
	lambda.StartWithOptions(f, lambda.WithContext(ctx), lambda.WithEnableSIGTERM(func() {
		closing, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
		defer cancel()
		f.Close(closing)
	}))
	return fmt.Errorf("the Lambda runtime loop ended") // StartWithOptions exits the process instead
}

// lambdaArgs makes the binary run the lambda command when AWS Lambda
// starts it with no arguments: as the provided.al2023 runtime's
// executable (named bootstrap), or in a container image where the
// Runtime API is set.
func lambdaArgs(argv0 string, args []string, getenv func(string) string) []string {
	if len(args) == 0 && (filepath.Base(argv0) == "bootstrap" || getenv("AWS_LAMBDA_RUNTIME_API") != "") {
		return []string{"lambda"}
	}
	return args
}
