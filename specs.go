package caresignal

import _ "embed"

// EngagementSpec is the feature spec of the engagement model on the demo
// source schema (specs/engagement.json), embedded so the binary needs no
// files to run the demo. Pass another spec file to train for other data.
//
//go:embed specs/engagement.json
var EngagementSpec []byte
