package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/model"
	"github.com/caresignal/caresignal/serving"
	"github.com/caresignal/caresignal/wire"
)

func runPredict(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "predict", "", "Read one POST /api/engagement request body (one patient, or {\"instances\": [...]}) from stdin or\n--in and print exactly the API's response. Bad input prints the API's JSON error and exits 1.")
	modelPath := fs.String("model", envDefault(e, "CARESIGNAL_MODEL", ""), "model artifact (required) (env CARESIGNAL_MODEL)")
	in := fs.String("in", "", "read the request from this file instead of stdin")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelPath == "" {
		fmt.Fprintln(e.stderr, "predict: --model is required")
		fs.Usage()
		return errUsage
	}
	m, err := model.LoadFile(*modelPath)
	if err != nil {
		return err
	}
	var r io.Reader = e.stdin
	if *in != "" {
		f, err := os.Open(*in)
		if err != nil {
			return err
		}
		defer f.Close()
		r = f
	}
	body, err := io.ReadAll(io.LimitReader(r, wire.MaxBodyBytes+1))
	if err != nil {
		return err
	}
	// The API's own core answers: the same decoding, scoring and bytes.
	scorer, err := serving.NewScorer(serving.Config{Models: serving.NewModels(m)})
	if err != nil {
		return err
	}
	var out []byte
	var failure error
	if len(body) > wire.MaxBodyBytes {
		failure = caresignal.Errorf(caresignal.ETOOLARGE, "request body exceeds %d bytes", wire.MaxBodyBytes)
	} else if answer, err := scorer.Engagement(serving.Call{}, body); err != nil {
		failure = err
	} else {
		out = bytes.Clone(answer.Bytes())
		answer.Release()
	}
	if failure != nil {
		if out, err = json.Marshal(wire.NewErrorBody(failure)); err != nil {
			return err
		}
		out = append(out, '\n')
	}
	if _, err := e.stdout.Write(out); err != nil {
		return err
	}
	if failure != nil {
		return fmt.Errorf("bad request: %s", caresignal.ErrorMessage(failure))
	}
	return nil
}
