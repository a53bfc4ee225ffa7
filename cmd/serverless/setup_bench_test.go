package serverless_test

import (
	"context"
	"testing"

	"github.com/caresignal/caresignal/cmd/serverless"
)

// BenchmarkNew is the instance's set-up in the process (the part of a
// cold start after the runtime has started the binary): the artifact
// loaded, the handler built; the gateway's authorizer trusted.
func BenchmarkNew(b *testing.B) {
	fx := newFixture(b)
	for range b.N {
		f, err := serverless.New(context.Background(), serverless.Config{Mode: "prod", TrustGateway: true, ModelPath: fx.model, Logger: quiet})
		if err != nil {
			b.Fatal(err)
		}
		f.Close(context.Background())
	}
}
