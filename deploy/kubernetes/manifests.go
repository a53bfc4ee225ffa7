// Package kubernetes holds caresignal's Kubernetes manifests (the YAML files
// beside this one; docs/deploy.md says how to apply them) and decodes them
// strictly with the Kubernetes API's own Go types: a misspelt, miscased,
// misplaced or repeated field is an error here, where the API server would
// drop it without a word (or keep the last copy) and the pod would run
// without the probe or the security setting it was meant to have.
//
// It is a module of its own, so that the main module does not depend on the
// Kubernetes libraries; .ci/run tests it explicitly, since "go test ./..."
// in the main module does not enter a nested module.
package kubernetes

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"sync"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// newDecoder returns a decoder that knows exactly the kinds the manifests
// may use, each at the one API version they are written for: a document of
// another kind, or of an older version of one of these (autoscaling/v1,
// batch/v1beta1), is refused rather than decoded into something else. It
// decodes YAML or JSON strictly: an unknown field (compared
// case-sensitively, as the API server does, unlike encoding/json), a field
// given twice, or a value of the wrong type is an error.
var newDecoder = sync.OnceValues(func() (runtime.Decoder, error) {
	s := runtime.NewScheme()
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,        // Namespace, ConfigMap, Secret, Service
		appsv1.AddToScheme,        // Deployment
		autoscalingv2.AddToScheme, // HorizontalPodAutoscaler
		batchv1.AddToScheme,       // CronJob
		policyv1.AddToScheme,      // PodDisruptionBudget
		networkingv1.AddToScheme,  // Ingress, NetworkPolicy
	} {
		if err := add(s); err != nil {
			return nil, fmt.Errorf("registering the Kubernetes API types: %w", err)
		}
	}
	return serializer.NewCodecFactory(s, serializer.EnableStrict).UniversalDeserializer(), nil
})

// Object is one decoded manifest document, with where it came from.
type Object struct {
	File string // the file's base name
	Doc  int    // the document's position in the file, from 1
	runtime.Object
}

// Decode reads every YAML document in r ("---" separated) and decodes each
// strictly into its Kubernetes API type. name is used in errors. A
// document holding nothing (comments only) is skipped.
func Decode(name string, r io.Reader) ([]Object, error) {
	decoder, err := newDecoder()
	if err != nil {
		return nil, err
	}
	yr := utilyaml.NewYAMLReader(bufio.NewReader(r))
	var out []Object
	for doc := 1; ; doc++ {
		raw, err := yr.Read()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		j, err := yaml.YAMLToJSON(raw)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		if bytes.Equal(bytes.TrimSpace(j), []byte("null")) {
			doc--
			continue
		}
		obj, _, err := decoder.Decode(raw, nil, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: document %d: %w", name, doc, err)
		}
		switch obj.(type) {
		case *corev1.Namespace, *corev1.ConfigMap, *corev1.Secret, *corev1.Service,
			*appsv1.Deployment, *autoscalingv2.HorizontalPodAutoscaler, *batchv1.CronJob,
			*policyv1.PodDisruptionBudget, *networkingv1.Ingress, *networkingv1.NetworkPolicy:
		default:
			// The scheme's groups hold more kinds than these (a bare Pod,
			// a Job, a ReplicaSet): none belongs in these manifests.
			return nil, fmt.Errorf("%s: document %d: kind %s is not one these manifests use", name, doc, obj.GetObjectKind().GroupVersionKind().Kind)
		}
		out = append(out, Object{File: name, Doc: doc, Object: obj})
	}
}

// Kustomization is the part of kustomize's kustomization.yaml the
// manifests use. It is not a Kubernetes API type; DecodeKustomization
// refuses any other field, so that an option added there is added here
// (and checked) too.
type Kustomization struct {
	APIVersion string   `json:"apiVersion"`
	Kind       string   `json:"kind"`
	Namespace  string   `json:"namespace"`
	Resources  []string `json:"resources"`
	Images     []struct {
		Name    string `json:"name"`
		NewName string `json:"newName,omitempty"`
		NewTag  string `json:"newTag,omitempty"`
		Digest  string `json:"digest,omitempty"`
	} `json:"images,omitempty"`
}

// DecodeKustomization decodes a kustomization.yaml, refusing unknown and
// repeated fields.
func DecodeKustomization(name string, data []byte) (*Kustomization, error) {
	var k Kustomization
	if err := yaml.UnmarshalStrict(data, &k); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if k.APIVersion != "kustomize.config.k8s.io/v1beta1" || k.Kind != "Kustomization" {
		return nil, fmt.Errorf("%s: apiVersion %q, kind %q: want kustomize.config.k8s.io/v1beta1, Kustomization", name, k.APIVersion, k.Kind)
	}
	return &k, nil
}

// KustomizationFile is the one YAML file in the folder that is not a
// Kubernetes object.
const KustomizationFile = "kustomization.yaml"

// Load decodes every *.yaml file in dir but the kustomization, in the
// order of their names.
func Load(dir string) ([]Object, error) {
	if yml, _ := filepath.Glob(filepath.Join(dir, "*.yml")); len(yml) > 0 {
		// Not read below, so never checked: refuse rather than skip.
		return nil, fmt.Errorf("%s: name it .yaml, as the other manifests are", filepath.Base(yml[0]))
	}
	files, err := filepath.Glob(filepath.Join(dir, "*.yaml"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []Object
	for _, f := range files {
		if filepath.Base(f) == KustomizationFile {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		objs, err := Decode(filepath.Base(f), bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			return nil, fmt.Errorf("%s: no Kubernetes object in it", filepath.Base(f))
		}
		out = append(out, objs...)
	}
	return out, nil
}
