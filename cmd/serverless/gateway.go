package serverless

import (
	"context"
	"fmt"
	"net/http"

	"github.com/aws/aws-lambda-go/events"

	"github.com/caresignal/caresignal"
	"github.com/caresignal/caresignal/internal/access"
)

// With CARESIGNAL_TRUST_GATEWAY_AUTHORIZER=true the function does not
// check API keys: API Gateway's authorizer (a Lambda authorizer, a
// Cognito user pool or JWT authorizer, or IAM) has checked the caller
// before the event was sent, and the event's request context says who
// it is. Only the gateway can set that context, unlike a header.
//
// The caller gets the predict role: the prediction API, the model's
// metadata and the web app's pages, not the reports (viewer) nor
// administration (admin). An authorizer says who calls, not which of
// caresignal's roles it holds; a deployment that needs more keeps the
// API keys.

// GatewayRole is the role of a caller the gateway's authorizer admitted.
const GatewayRole = caresignal.RolePredict

type authorizerKey struct{}

// withAuthorizer notes on ctx who the gateway's authorizer admitted;
// ok false leaves ctx without, and the request is refused (401) when the
// authorizer is trusted.
func withAuthorizer(ctx context.Context, p access.Principal, ok bool) context.Context {
	if !ok {
		return ctx
	}
	return context.WithValue(ctx, authorizerKey{}, p)
}

// gatewayPrincipal is web.Access.Gateway: who the authorizer admitted.
func gatewayPrincipal(r *http.Request) (access.Principal, bool) {
	p, ok := r.Context().Value(authorizerKey{}).(access.Principal)
	return p, ok
}

// principalV1 reads a REST API (v1) event's authorizer: a Lambda
// authorizer's principalId, a Cognito authorizer's claims, or the IAM
// caller in the identity (IAM authorization fills no authorizer).
func principalV1(rc *events.APIGatewayProxyRequestContext) (access.Principal, bool) {
	if len(rc.Authorizer) > 0 {
		if id, ok := rc.Authorizer["principalId"].(string); ok && id != "" {
			return admitted("authorizer:" + id), true
		}
		if claims, ok := rc.Authorizer["claims"].(map[string]any); ok {
			if sub, ok := claims["sub"].(string); ok && sub != "" {
				return admitted("cognito:" + sub), true
			}
		}
		return admitted("authorizer"), true
	}
	if rc.Identity.UserArn != "" {
		return admitted("iam:" + rc.Identity.UserArn), true
	}
	return access.Principal{}, false
}

// principalV2 reads an HTTP API (v2) event's authorizer: JWT claims, a
// Lambda authorizer's context, or IAM.
func principalV2(rc *events.APIGatewayV2HTTPRequestContext) (access.Principal, bool) {
	a := rc.Authorizer
	switch {
	case a == nil:
		return access.Principal{}, false
	case a.JWT != nil:
		if sub := a.JWT.Claims["sub"]; sub != "" {
			return admitted("jwt:" + sub), true
		}
		return admitted("jwt"), true
	case a.IAM != nil && a.IAM.UserARN != "":
		return admitted("iam:" + a.IAM.UserARN), true
	case a.Lambda != nil:
		if id, ok := a.Lambda["principalId"]; ok {
			return admitted(fmt.Sprint("authorizer:", id)), true
		}
		return admitted("authorizer"), true
	}
	return access.Principal{}, false
}

// admitted is the principal of a caller the gateway admitted; the name,
// truncated, goes to the audit log.
func admitted(name string) access.Principal {
	if len(name) > 100 {
		name = name[:100]
	}
	return access.Principal{Name: name, Role: GatewayRole}
}
