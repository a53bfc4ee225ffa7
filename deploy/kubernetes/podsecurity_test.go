package kubernetes

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// restrictedViolations evaluates a pod template with the checks of Pod
// Security admission itself (the library the API server runs) at the
// "restricted" level namespace.yaml enforces, and returns what it forbids.
func restrictedViolations(t *testing.T, meta *metav1.ObjectMeta, spec *corev1.PodSpec) []string {
	t.Helper()
	ev, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	lv := api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}
	for _, r := range ev.EvaluatePod(lv, meta, spec) {
		if !r.Allowed {
			out = append(out, r.ForbiddenReason+": "+r.ForbiddenDetail)
		}
	}
	return out
}

// TestPodSecurityRestricted: the Namespace enforces the restricted
// profile, so the server's and the scheduled run's pods must meet it, or
// admission refuses them.
func TestPodSecurityRestricted(t *testing.T) {
	m := load(t)
	if got := m.ns.Labels["pod-security.kubernetes.io/enforce"]; got != string(api.LevelRestricted) {
		t.Errorf("the Namespace enforces %q, want %q", got, api.LevelRestricted)
	}
	for _, w := range []struct {
		name string
		tmpl *corev1.PodTemplateSpec
	}{
		{"the Deployment", &m.deploy.Spec.Template},
		{"the CronJob", &m.cron.Spec.JobTemplate.Spec.Template},
	} {
		for _, v := range restrictedViolations(t, &w.tmpl.ObjectMeta, &w.tmpl.Spec) {
			t.Errorf("%s's pods: Pod Security admission (restricted) forbids %s", w.name, v)
		}
	}

	// The evaluator is not a formality: the same pod with privilege
	// escalation allowed is refused.
	tmpl := m.deploy.Spec.Template.DeepCopy()
	yes := true
	tmpl.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = &yes
	if len(restrictedViolations(t, &tmpl.ObjectMeta, &tmpl.Spec)) == 0 {
		t.Errorf("a pod allowing privilege escalation passed the restricted checks: the evaluation is not working")
	}
}
