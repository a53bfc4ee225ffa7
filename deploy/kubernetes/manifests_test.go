package kubernetes

import (
	"bytes"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// The figures the manifests must agree with, from the server's code and
// docs/operations.md.
const (
	imageUser       = 65532 // the image's non-root user (deploy/container)
	drainSeconds    = 15    // requests in flight finish within this after SIGTERM
	flushSeconds    = 30    // then the prediction log's flush may take this long
	serverBodyLimit = "2m"  // the server's limit on a request body, 2 MiB
	cliDoc          = "../../docs/cli.md"
	exampleSecret   = "secret.yaml" // left out of the kustomization on purpose
)

// manifests holds the decoded objects, one of each kind.
type manifests struct {
	ns     *corev1.Namespace
	cm     *corev1.ConfigMap
	secret *corev1.Secret
	svc    *corev1.Service
	deploy *appsv1.Deployment
	hpa    *autoscalingv2.HorizontalPodAutoscaler
	cron   *batchv1.CronJob
	pdb    *policyv1.PodDisruptionBudget
	ing    *networkingv1.Ingress
	netpol *networkingv1.NetworkPolicy
}

// load decodes the folder's manifests strictly and requires exactly one
// object of each kind.
func load(t *testing.T) manifests {
	t.Helper()
	objs, err := Load(".")
	if err != nil {
		t.Fatal(err)
	}
	var m manifests
	seen := map[string]string{}
	for _, o := range objs {
		kind := fmt.Sprintf("%T", o.Object)
		if prev, ok := seen[kind]; ok {
			t.Fatalf("%s (document %d): a second %s (the first in %s): the checks below expect one", o.File, o.Doc, kind, prev)
		}
		seen[kind] = o.File
		switch v := o.Object.(type) {
		case *corev1.Namespace:
			m.ns = v
		case *corev1.ConfigMap:
			m.cm = v
		case *corev1.Secret:
			m.secret = v
		case *corev1.Service:
			m.svc = v
		case *appsv1.Deployment:
			m.deploy = v
		case *autoscalingv2.HorizontalPodAutoscaler:
			m.hpa = v
		case *batchv1.CronJob:
			m.cron = v
		case *policyv1.PodDisruptionBudget:
			m.pdb = v
		case *networkingv1.Ingress:
			m.ing = v
		case *networkingv1.NetworkPolicy:
			m.netpol = v
		}
	}
	if m.ns == nil || m.cm == nil || m.secret == nil || m.svc == nil || m.deploy == nil || m.hpa == nil ||
		m.cron == nil || m.pdb == nil || m.ing == nil || m.netpol == nil {
		t.Fatalf("want one each of Namespace, ConfigMap, Secret, Service, Deployment, HorizontalPodAutoscaler, CronJob, PodDisruptionBudget, Ingress and NetworkPolicy; have %v", seen)
	}
	return m
}

// TestManifestsDecodeStrictly decodes every YAML file of the folder with
// the Kubernetes API types, refusing unknown, repeated and mistyped fields.
func TestManifestsDecodeStrictly(t *testing.T) {
	m := load(t)
	if len(m.deploy.Spec.Template.Spec.Containers) == 0 {
		t.Fatal("the Deployment decoded without containers")
	}
}

// TestStrictDecoderRefuses proves the decoder strict: each mistake, made in
// a copy of a shipped manifest, must fail to decode with the error naming
// it. An API server would have dropped the field (or kept the last copy)
// and run the pod without it.
func TestStrictDecoderRefuses(t *testing.T) {
	cases := []struct {
		name, file, old, new, want string
	}{
		{"misspelt field", "deployment.yaml", "readinessProbe:", "readinesProbe:",
			`unknown field "spec.template.spec.containers[0].readinesProbe"`},
		// encoding/json's DisallowUnknownFields matches names without
		// regard to case and would take this one.
		{"miscased field", "deployment.yaml", "readOnlyRootFilesystem: true", "readOnlyRootFileSystem: true",
			`unknown field "spec.template.spec.containers[0].securityContext.readOnlyRootFileSystem"`},
		{"field at the wrong level", "cronjob.yaml", "      backoffLimit: 3", "      concurrencyPolicy: Forbid\n      backoffLimit: 3",
			`unknown field "spec.jobTemplate.spec.concurrencyPolicy"`},
		{"field given twice", "deployment.yaml", "terminationGracePeriodSeconds: 60", "terminationGracePeriodSeconds: 60\n      terminationGracePeriodSeconds: 5",
			`"terminationGracePeriodSeconds" already set`},
		{"value of the wrong type", "configmap.yaml", "  CARESIGNAL_CADENCE: daily", "  CARESIGNAL_CADENCE: daily\n  CARESIGNAL_RATE_LIMIT: 20",
			"cannot unmarshal number"},
		{"older API version", "hpa.yaml", "apiVersion: autoscaling/v2", "apiVersion: autoscaling/v1",
			`no kind "HorizontalPodAutoscaler" is registered for version "autoscaling/v1"`},
		{"unknown kind", "service.yaml", "kind: Service", "kind: Servce",
			`no kind "Servce" is registered`},
		{"a kind the manifests do not use", "service.yaml", "      protocol: TCP\n", "      protocol: TCP\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: stray\n",
			"document 2: kind Pod is not one these manifests use"},
		{"mistake in a second document", "pdb.yaml", "maxUnavailable: 1", "maxUnavailable: 1\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  label: {}",
			`document 2: strict decoding error: unknown field "metadata.label"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := os.ReadFile(c.file)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Contains(b, []byte(c.old)) {
				t.Fatalf("%s no longer holds %q: update the case", c.file, c.old)
			}
			if _, err := Decode(c.file, bytes.NewReader(b)); err != nil {
				t.Fatalf("the shipped %s: %v", c.file, err)
			}
			mutated := bytes.Replace(b, []byte(c.old), []byte(c.new), 1)
			_, err = Decode(c.file, bytes.NewReader(mutated))
			if err == nil {
				t.Fatalf("%s with %q in place of %q decoded without error", c.file, c.new, c.old)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("error %q, want it to contain %q", err, c.want)
			}
		})
	}
}

// TestDecodeSkipsEmptyDocuments: comments alone, or a trailing "---", are
// not objects.
func TestDecodeSkipsEmptyDocuments(t *testing.T) {
	objs, err := Decode("x.yaml", strings.NewReader("# a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n# another\n---\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != 1 || objs[0].Doc != 1 {
		t.Fatalf("got %d objects (%+v), want the one ConfigMap as document 1", len(objs), objs)
	}
}

// TestServerDeployment checks what the server's pods need: the command,
// the port, the probes, the security context, the resources, the stop
// timing, writable folders and the settings.
func TestServerDeployment(t *testing.T) {
	m := load(t)
	d := m.deploy
	if d.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas (%d): the HorizontalPodAutoscaler owns the count, and every apply would reset it", *d.Spec.Replicas)
	}
	checkSelector(t, "the Deployment's selector", d.Spec.Selector, d.Spec.Template.Labels, true)
	pod := d.Spec.Template.Spec
	c := onlyContainer(t, "the Deployment", pod)
	if len(c.Command) != 0 || !slices.Equal(c.Args, []string{"serve"}) {
		t.Errorf("the server's command %q args %q: want the image's entrypoint with args [serve]", c.Command, c.Args)
	}
	port := httpPort(t, c)
	for _, p := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{"liveness", c.LivenessProbe, "/healthz"},
		{"readiness", c.ReadinessProbe, "/readyz"},
		{"startup", c.StartupProbe, "/healthz"},
	} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("no HTTP %s probe", p.name)
			continue
		}
		g := p.probe.HTTPGet
		if g.Path != p.path {
			t.Errorf("%s probe: path %q, want %q", p.name, g.Path, p.path)
		}
		if got := resolvePort(t, c, g.Port); got != port {
			t.Errorf("%s probe: port %s is %d, want the server's %d", p.name, g.Port.String(), got, port)
		}
		if g.Scheme != "" && g.Scheme != corev1.URISchemeHTTP {
			t.Errorf("%s probe: scheme %s; the server speaks HTTP behind the ingress", p.name, g.Scheme)
		}
	}
	checkSecurity(t, "the Deployment", pod, c)
	checkResources(t, "the server", c, resource.MustParse("48Mi"))

	// Stopping: the preStop pause, the drain and the flush fit in the
	// grace period.
	pause := int64(0)
	if c.Lifecycle != nil && c.Lifecycle.PreStop != nil {
		if c.Lifecycle.PreStop.Sleep == nil {
			t.Errorf("preStop is not a sleep action: the image has no shell or sleep binary to exec")
		} else {
			pause = c.Lifecycle.PreStop.Sleep.Seconds
		}
	}
	if pause == 0 {
		t.Errorf("no preStop pause: the server could stop listening before the ingress controller stops sending to it")
	}
	if g := pod.TerminationGracePeriodSeconds; g == nil || *g < pause+drainSeconds+flushSeconds {
		t.Errorf("terminationGracePeriodSeconds %v: want at least %d (preStop %d s + drain %d s + flush %d s)", deref(g), pause+drainSeconds+flushSeconds, pause, drainSeconds, flushSeconds)
	}

	checkEnv(t, m, "the Deployment", pod, c)
	if got := m.cm.Data["CARESIGNAL_MODE"]; got != "prod" {
		t.Errorf("CARESIGNAL_MODE is %q, want prod", got)
	}
	addr := m.cm.Data["CARESIGNAL_ADDR"]
	if h, p, err := splitHostPort(addr); err != nil || p != port || (h != "" && h != "0.0.0.0" && h != "[::]") {
		t.Errorf("CARESIGNAL_ADDR %q: want every interface at the container's port %d", addr, port)
	}
}

// TestTrustedProxy: production mode needs TLS or a declared proxy, and the
// server refuses a range reaching public addresses; the pod network is a
// private range.
func TestTrustedProxy(t *testing.T) {
	m := load(t)
	v := m.cm.Data["CARESIGNAL_TRUSTED_PROXY"]
	if v == "" {
		t.Fatal("CARESIGNAL_TRUSTED_PROXY is not set: --mode prod would refuse to start without TLS or a trusted proxy")
	}
	private := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("172.16.0.0/12"),
		netip.MustParsePrefix("192.168.0.0/16"), netip.MustParsePrefix("100.64.0.0/10"), netip.MustParsePrefix("fc00::/7")}
	for _, s := range strings.Split(v, ",") {
		p, err := netip.ParsePrefix(strings.TrimSpace(s))
		if err != nil {
			t.Errorf("CARESIGNAL_TRUSTED_PROXY: %q is not a CIDR: %v", s, err)
			continue
		}
		if !slices.ContainsFunc(private, func(r netip.Prefix) bool { return r.Bits() <= p.Bits() && r.Contains(p.Addr()) }) {
			t.Errorf("CARESIGNAL_TRUSTED_PROXY: %s is not inside a private range; the server refuses it", p)
		}
	}
}

// TestService: port 80 reaches the container's port, on the server's pods
// only.
func TestService(t *testing.T) {
	m := load(t)
	s := m.svc
	if s.Spec.Type != corev1.ServiceTypeClusterIP {
		t.Errorf("the Service is %s, want ClusterIP (the ingress is the way in)", s.Spec.Type)
	}
	c := onlyContainer(t, "the Deployment", m.deploy.Spec.Template.Spec)
	if len(s.Spec.Ports) != 1 || s.Spec.Ports[0].Port != 80 {
		t.Fatalf("the Service's ports %+v: want port 80 alone", s.Spec.Ports)
	}
	if got, want := resolvePort(t, c, s.Spec.Ports[0].TargetPort), httpPort(t, c); got != want {
		t.Errorf("the Service's targetPort %s is %d, want the container's %d", s.Spec.Ports[0].TargetPort.String(), got, want)
	}
	sel := &metav1.LabelSelector{MatchLabels: s.Spec.Selector}
	checkSelector(t, "the Service's selector", sel, m.deploy.Spec.Template.Labels, true)
	checkSelector(t, "the Service's selector", sel, m.cron.Spec.JobTemplate.Spec.Template.Labels, false)
}

// TestAutoscaling: the HPA scales the Deployment on CPU, never below two
// pods; the PodDisruptionBudget lets a drain take one at a time.
func TestAutoscaling(t *testing.T) {
	m := load(t)
	h := m.hpa
	if r := h.Spec.ScaleTargetRef; r.Kind != "Deployment" || r.APIVersion != "apps/v1" || r.Name != m.deploy.Name {
		t.Errorf("the HPA scales %s %s %q, want apps/v1 Deployment %q", r.APIVersion, r.Kind, r.Name, m.deploy.Name)
	}
	minR := int32(1)
	if h.Spec.MinReplicas != nil {
		minR = *h.Spec.MinReplicas
	}
	if minR < 2 || h.Spec.MaxReplicas < minR || h.Spec.MaxReplicas > 20 {
		t.Errorf("the HPA's replicas %d to %d: want at least 2, at most about 10", minR, h.Spec.MaxReplicas)
	}
	cpu := false
	for _, mt := range h.Spec.Metrics {
		if mt.Type == autoscalingv2.ResourceMetricSourceType && mt.Resource != nil && mt.Resource.Name == corev1.ResourceCPU &&
			mt.Resource.Target.Type == autoscalingv2.UtilizationMetricType && mt.Resource.Target.AverageUtilization != nil {
			cpu = true
			if u := *mt.Resource.Target.AverageUtilization; u < 30 || u > 90 {
				t.Errorf("the HPA's CPU target %d %%: want between 30 and 90", u)
			}
		}
	}
	if !cpu {
		t.Errorf("the HPA has no CPU utilisation target")
	}

	p := m.pdb
	checkSelector(t, "the PodDisruptionBudget's selector", p.Spec.Selector, m.deploy.Spec.Template.Labels, true)
	checkSelector(t, "the PodDisruptionBudget's selector", p.Spec.Selector, m.cron.Spec.JobTemplate.Spec.Template.Labels, false)
	switch {
	case p.Spec.MaxUnavailable != nil && p.Spec.MinAvailable == nil:
		if v := p.Spec.MaxUnavailable; v.Type != intstr.Int || v.IntVal < 1 || v.IntVal >= minR {
			t.Errorf("the PodDisruptionBudget's maxUnavailable %s: want a number from 1 to below the HPA's minimum %d", v.String(), minR)
		}
	case p.Spec.MinAvailable != nil && p.Spec.MaxUnavailable == nil:
		if v := p.Spec.MinAvailable; v.Type != intstr.Int || v.IntVal < 1 || v.IntVal >= minR {
			t.Errorf("the PodDisruptionBudget's minAvailable %s: want a number from 1 to below the HPA's minimum %d", v.String(), minR)
		}
	default:
		t.Errorf("the PodDisruptionBudget must set one of maxUnavailable and minAvailable")
	}
}

// TestCronJob: the scheduled command runs daily, one at a time, with the
// server's image, settings and security context.
func TestCronJob(t *testing.T) {
	m := load(t)
	cj := m.cron
	f := strings.Fields(cj.Spec.Schedule)
	daily := len(f) == 5 && isNumberIn(f[0], 0, 59) && isNumberIn(f[1], 0, 23) && f[2] == "*" && f[3] == "*" && f[4] == "*"
	if !daily {
		t.Errorf("schedule %q: want once a day (M H * * *)", cj.Spec.Schedule)
	}
	if got := m.cm.Data["CARESIGNAL_CADENCE"]; got != "daily" && got != "" && got != "24h" {
		t.Errorf("CARESIGNAL_CADENCE %q disagrees with the daily schedule: the server would call scores stale at the wrong time", got)
	}
	if cj.Spec.TimeZone == nil || *cj.Spec.TimeZone == "" {
		t.Errorf("no timeZone: the schedule would follow the controller's zone")
	}
	if cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("concurrencyPolicy %q, want Forbid", cj.Spec.ConcurrencyPolicy)
	}
	job := cj.Spec.JobTemplate.Spec
	if job.ActiveDeadlineSeconds == nil {
		t.Errorf("no activeDeadlineSeconds: a hung run would block every later one (concurrencyPolicy Forbid)")
	}
	pod := job.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever && pod.RestartPolicy != corev1.RestartPolicyOnFailure {
		t.Errorf("restartPolicy %q: a Job's pod needs Never or OnFailure", pod.RestartPolicy)
	}
	c := onlyContainer(t, "the CronJob", pod)
	if len(c.Command) != 0 || !slices.Equal(c.Args, []string{"run"}) {
		t.Errorf("the CronJob's command %q args %q: want the image's entrypoint with args [run]", c.Command, c.Args)
	}
	server := onlyContainer(t, "the Deployment", m.deploy.Spec.Template.Spec)
	if c.Image != server.Image {
		t.Errorf("the CronJob runs image %q, the Deployment %q: the scheduled work must run the same build", c.Image, server.Image)
	}
	checkSecurity(t, "the CronJob", pod, c)
	checkResources(t, "the scheduled run", c, resource.MustParse("200Mi"))
	checkEnv(t, m, "the CronJob", pod, c)
	if labels.SelectorFromSet(cj.Spec.JobTemplate.Spec.Template.Labels).Matches(labels.Set(m.deploy.Spec.Template.Labels)) {
		t.Errorf("the CronJob's pod labels %v are a subset of the server's %v: the server's selectors could take the run's pods", cj.Spec.JobTemplate.Spec.Template.Labels, m.deploy.Spec.Template.Labels)
	}
}

// TestSettingsAreRead: every setting in the ConfigMap and the Secret is a
// variable docs/cli.md says caresignal serve or run reads, none is in both
// (envFrom would pick one silently), and the Secret's example holds
// placeholders only.
func TestSettingsAreRead(t *testing.T) {
	m := load(t)
	read := documentedEnv(t)
	for _, k := range sortedKeys(m.cm.Data) {
		if !read[k] {
			t.Errorf("the ConfigMap sets %s, which %s does not list for serve, run or every command", k, cliDoc)
		}
	}
	secretKeys := append(sortedKeys(m.secret.StringData), sortedKeys(m.secret.Data)...)
	if len(secretKeys) == 0 {
		t.Errorf("the Secret holds nothing")
	}
	for _, k := range secretKeys {
		if !read[k] {
			t.Errorf("the Secret sets %s, which %s does not list for serve, run or every command", k, cliDoc)
		}
		if _, ok := m.cm.Data[k]; ok {
			t.Errorf("%s is in both the ConfigMap and the Secret", k)
		}
		if v := m.secret.StringData[k]; !strings.Contains(v, "REPLACE-ME") {
			t.Errorf("the example Secret's %s is not a placeholder (no REPLACE-ME): real secrets do not belong in the repository", k)
		}
	}
	if !strings.Contains(m.secret.StringData["CARESIGNAL_DB"], "postgres") {
		t.Errorf("CARESIGNAL_DB should be a PostgreSQL URL: the embedded database is for one process on one host")
	}
}

// TestIngress: the ingress passes every path to the Service's port over
// TLS, with the server's body limit.
func TestIngress(t *testing.T) {
	m := load(t)
	ing := m.ing
	if len(ing.Spec.TLS) == 0 {
		t.Fatalf("the Ingress has no TLS section: keys would cross the network in clear text")
	}
	tlsHosts := map[string]bool{}
	for _, tl := range ing.Spec.TLS {
		for _, h := range tl.Hosts {
			tlsHosts[h] = true
		}
	}
	for _, r := range ing.Spec.Rules {
		if !tlsHosts[r.Host] {
			t.Errorf("host %q is not in the TLS section", r.Host)
		}
		if r.HTTP == nil {
			t.Errorf("host %q has no paths", r.Host)
			continue
		}
		for _, p := range r.HTTP.Paths {
			b := p.Backend.Service
			if b == nil || b.Name != m.svc.Name {
				t.Errorf("path %q goes to %+v, want the Service %q", p.Path, p.Backend, m.svc.Name)
				continue
			}
			if b.Port.Name != m.svc.Spec.Ports[0].Name && b.Port.Number != m.svc.Spec.Ports[0].Port {
				t.Errorf("path %q goes to port %+v, which the Service does not have", p.Path, b.Port)
			}
		}
	}
	if got := ing.Annotations["nginx.ingress.kubernetes.io/force-ssl-redirect"]; got != "true" {
		t.Errorf("force-ssl-redirect is %q: a plain HTTP request would reach the server, which takes the pod network's requests as TLS", got)
	}
	if got := ing.Annotations["nginx.ingress.kubernetes.io/proxy-body-size"]; got != serverBodyLimit {
		t.Errorf("proxy-body-size %q, want the server's own limit %s", got, serverBodyLimit)
	}

	np := m.netpol
	checkSelector(t, "the NetworkPolicy's podSelector", &np.Spec.PodSelector, m.deploy.Spec.Template.Labels, true)
	c := onlyContainer(t, "the Deployment", m.deploy.Spec.Template.Spec)
	for _, rule := range np.Spec.Ingress {
		for _, p := range rule.Ports {
			if p.Port == nil || resolvePort(t, c, *p.Port) != httpPort(t, c) {
				t.Errorf("the NetworkPolicy opens port %v, not the server's", p.Port)
			}
		}
	}
}

// TestKustomization: kubectl apply -k applies every manifest but the
// example Secret, in the Namespace the folder defines, with the image the
// workloads name.
func TestKustomization(t *testing.T) {
	m := load(t)
	b, err := os.ReadFile(KustomizationFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := DecodeKustomization(KustomizationFile, b)
	if err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, f := range files {
		if f != KustomizationFile && f != exampleSecret {
			want = append(want, f)
		}
	}
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("the kustomization's resources %v, want every manifest but %s: %v", got, exampleSecret, want)
	}
	if k.Namespace != m.ns.Name {
		t.Errorf("the kustomization's namespace %q, want the Namespace %q", k.Namespace, m.ns.Name)
	}
	image := onlyContainer(t, "the Deployment", m.deploy.Spec.Template.Spec).Image
	if len(k.Images) != 1 || k.Images[0].Name != imageName(image) {
		t.Errorf("the kustomization's images %+v: want one entry named %q, the image the workloads name", k.Images, imageName(image))
	}
	if m.ns.Labels["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("the Namespace does not enforce the restricted Pod Security profile")
	}
}

// TestDecodeKustomizationRefuses: the kustomization is decoded strictly too.
func TestDecodeKustomizationRefuses(t *testing.T) {
	for _, in := range []string{
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresource:\n  - a.yaml\n",
		"apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources: [a.yaml]\nresources: [b.yaml]\n",
		"apiVersion: v1\nkind: ConfigMap\n",
	} {
		if _, err := DecodeKustomization("k", []byte(in)); err == nil {
			t.Errorf("%q decoded without error", in)
		}
	}
}

// onlyContainer is a pod's one container.
func onlyContainer(t *testing.T, where string, pod corev1.PodSpec) corev1.Container {
	t.Helper()
	if len(pod.Containers) != 1 || len(pod.InitContainers) != 0 {
		t.Fatalf("%s: want one container and no init container, have %d and %d", where, len(pod.Containers), len(pod.InitContainers))
	}
	return pod.Containers[0]
}

// httpPort is the container's port named http.
func httpPort(t *testing.T, c corev1.Container) int32 {
	t.Helper()
	for _, p := range c.Ports {
		if p.Name == "http" {
			if p.ContainerPort != 8080 {
				t.Errorf("container port http is %d; the image listens on 8080", p.ContainerPort)
			}
			return p.ContainerPort
		}
	}
	t.Fatalf("container %s has no port named http", c.Name)
	return 0
}

// resolvePort is the container port a number or a port name refers to.
func resolvePort(t *testing.T, c corev1.Container, p intstr.IntOrString) int32 {
	t.Helper()
	if p.Type == intstr.Int {
		return p.IntVal
	}
	for _, cp := range c.Ports {
		if cp.Name == p.StrVal {
			return cp.ContainerPort
		}
	}
	t.Errorf("port %q names no port of container %s", p.StrVal, c.Name)
	return -1
}

// checkSelector checks that sel selects (or, with want false, does not
// select) a pod with the given labels.
func checkSelector(t *testing.T, what string, sel *metav1.LabelSelector, podLabels map[string]string, want bool) {
	t.Helper()
	if sel == nil || (len(sel.MatchLabels) == 0 && len(sel.MatchExpressions) == 0) {
		t.Errorf("%s is empty: it would select every pod", what)
		return
	}
	s, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		t.Errorf("%s: %v", what, err)
		return
	}
	if got := s.Matches(labels.Set(podLabels)); got != want {
		verb := "does not select"
		if got {
			verb = "selects"
		}
		t.Errorf("%s %v %s pods labelled %v", what, sel.MatchLabels, verb, podLabels)
	}
}

// checkSecurity checks the pod and container security settings the
// restricted Pod Security profile asks for, plus a read-only root file
// system and the image's user. A container's setting overrides its pod's.
func checkSecurity(t *testing.T, where string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	ps := pod.SecurityContext
	if ps == nil {
		ps = &corev1.PodSecurityContext{}
	}
	cs := c.SecurityContext
	if cs == nil {
		t.Errorf("%s: no container securityContext", where)
		cs = &corev1.SecurityContext{}
	}
	nonRoot := cs.RunAsNonRoot
	if nonRoot == nil {
		nonRoot = ps.RunAsNonRoot
	}
	if nonRoot == nil || !*nonRoot {
		t.Errorf("%s: runAsNonRoot is not true", where)
	}
	user := cs.RunAsUser
	if user == nil {
		user = ps.RunAsUser
	}
	if user == nil || *user != imageUser {
		t.Errorf("%s: runAsUser %v, want %d (the image's user)", where, deref(user), imageUser)
	}
	if cs.AllowPrivilegeEscalation == nil || *cs.AllowPrivilegeEscalation {
		t.Errorf("%s: allowPrivilegeEscalation is not false", where)
	}
	if cs.Privileged != nil && *cs.Privileged {
		t.Errorf("%s: privileged", where)
	}
	if cs.ReadOnlyRootFilesystem == nil || !*cs.ReadOnlyRootFilesystem {
		t.Errorf("%s: readOnlyRootFilesystem is not true", where)
	}
	if cs.Capabilities == nil || !slices.Contains(cs.Capabilities.Drop, "ALL") || len(cs.Capabilities.Add) != 0 {
		t.Errorf("%s: capabilities %+v, want drop [ALL] and nothing added", where, cs.Capabilities)
	}
	seccomp := cs.SeccompProfile
	if seccomp == nil {
		seccomp = ps.SeccompProfile
	}
	if seccomp == nil || seccomp.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("%s: seccompProfile %+v, want RuntimeDefault", where, seccomp)
	}
	if pod.AutomountServiceAccountToken == nil || *pod.AutomountServiceAccountToken {
		t.Errorf("%s: automountServiceAccountToken is not false: caresignal does not call the Kubernetes API", where)
	}
	if pod.HostNetwork || pod.HostPID || pod.HostIPC {
		t.Errorf("%s: shares the host's network, PID or IPC namespace", where)
	}
}

// checkResources checks that requests and limits are set for CPU and
// memory, requests within limits and the memory request at least minMem,
// and that GOMEMLIMIT, if set, is below the memory limit.
func checkResources(t *testing.T, what string, c corev1.Container, minMem resource.Quantity) {
	t.Helper()
	r := c.Resources
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		req, okReq := r.Requests[name]
		lim, okLim := r.Limits[name]
		if !okReq || !okLim {
			t.Errorf("%s: %s request and limit must both be set (have %v, %v)", what, name, r.Requests, r.Limits)
			continue
		}
		if req.Cmp(lim) > 0 {
			t.Errorf("%s: %s request %s above its limit %s", what, name, req.String(), lim.String())
		}
	}
	if req := r.Requests[corev1.ResourceMemory]; req.Cmp(minMem) < 0 {
		t.Errorf("%s: memory request %s, below the %s measured", what, req.String(), minMem.String())
	}
	for _, e := range c.Env {
		if e.Name != "GOMEMLIMIT" {
			continue
		}
		n, err := goMemLimit(e.Value)
		lim := r.Limits[corev1.ResourceMemory]
		if err != nil {
			t.Errorf("%s: GOMEMLIMIT %q: %v", what, e.Value, err)
		} else if n >= lim.Value() || n < lim.Value()/2 {
			t.Errorf("%s: GOMEMLIMIT %q (%d bytes) should be below the memory limit %s and above half of it", what, e.Value, n, lim.String())
		}
	}
}

// checkEnv checks the container's settings: all of the ConfigMap and the
// Secret, no other variable but Go's runtime settings, and every folder the
// settings name on a mounted volume (the root file system is read-only).
func checkEnv(t *testing.T, m manifests, where string, pod corev1.PodSpec, c corev1.Container) {
	t.Helper()
	var cm, sec bool
	for _, e := range c.EnvFrom {
		switch {
		case e.ConfigMapRef != nil && e.ConfigMapRef.Name == m.cm.Name && e.Prefix == "":
			cm = true
		case e.SecretRef != nil && e.SecretRef.Name == m.secret.Name && e.Prefix == "":
			sec = true
		default:
			t.Errorf("%s: envFrom %+v is neither the ConfigMap %q nor the Secret %q", where, e, m.cm.Name, m.secret.Name)
		}
	}
	if !cm || !sec {
		t.Errorf("%s: takes the ConfigMap %v and the Secret %v: want both, whole, with envFrom", where, cm, sec)
	}
	for _, e := range c.Env {
		if !slices.Contains([]string{"GOMEMLIMIT", "GOGC", "GOMAXPROCS"}, e.Name) {
			t.Errorf("%s: env %s: settings belong in the ConfigMap or the Secret", where, e.Name)
		}
	}
	if pod.EnableServiceLinks == nil || *pod.EnableServiceLinks {
		t.Errorf("%s: enableServiceLinks is not false: the Service %q would add CARESIGNAL_PORT and the like to the environment", where, m.svc.Name)
	}
	volumes := map[string]bool{}
	for _, v := range pod.Volumes {
		volumes[v.Name] = true
	}
	var mounts []string
	for _, vm := range c.VolumeMounts {
		if !volumes[vm.Name] {
			t.Errorf("%s: mount %s names no volume of the pod", where, vm.Name)
		}
		if !vm.ReadOnly {
			mounts = append(mounts, vm.MountPath)
		}
	}
	for _, k := range []string{"CARESIGNAL_DATA_DIR", "CARESIGNAL_SPILL_DIR"} {
		dir := m.cm.Data[k]
		if dir == "" {
			t.Errorf("%s: %s is not set", where, k)
			continue
		}
		if !slices.ContainsFunc(mounts, func(mp string) bool { return dir == mp || strings.HasPrefix(dir, strings.TrimSuffix(mp, "/")+"/") }) {
			t.Errorf("%s: %s=%s is on no writable volume (mounted: %v); the root file system is read-only", where, k, dir, mounts)
		}
	}
}

// documentedEnv is the set of CARESIGNAL_* variables docs/cli.md names in
// its sections for every command ("Where data lives"), run and serve.
func documentedEnv(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(cliDoc)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{"Where data lives": true, "run": true, "serve": true}
	re := regexp.MustCompile("`(CARESIGNAL_[A-Z0-9_]+)`")
	out := map[string]bool{}
	section := ""
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "## "); ok {
			section = strings.TrimSpace(h)
			continue
		}
		if want[section] {
			for _, m := range re.FindAllStringSubmatch(line, -1) {
				out[m[1]] = true
			}
		}
	}
	for _, must := range []string{"CARESIGNAL_DB", "CARESIGNAL_MODE", "CARESIGNAL_CADENCE"} {
		if !out[must] {
			t.Fatalf("%s no longer names %s in those sections: the way this test reads it needs updating", cliDoc, must)
		}
	}
	return out
}

// goMemLimit parses a GOMEMLIMIT value: a number of bytes with an optional
// B, KiB, MiB, GiB or TiB suffix.
func goMemLimit(s string) (int64, error) {
	mult := int64(1)
	for _, u := range []struct {
		suffix string
		n      int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"B", 1}} {
		if rest, ok := strings.CutSuffix(s, u.suffix); ok {
			s, mult = rest, u.n
			break
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, fmt.Errorf("not a positive size such as 200MiB")
	}
	return n * mult, nil
}

// imageName is an image reference without its tag or digest.
func imageName(ref string) string {
	if i := strings.IndexByte(ref, '@'); i >= 0 {
		ref = ref[:i]
	}
	if i := strings.LastIndexByte(ref, ':'); i > strings.LastIndexByte(ref, '/') {
		ref = ref[:i]
	}
	return ref
}

func splitHostPort(addr string) (string, int32, error) {
	i := strings.LastIndexByte(addr, ':')
	if i < 0 {
		return "", 0, fmt.Errorf("no port")
	}
	p, err := strconv.ParseInt(addr[i+1:], 10, 32)
	return addr[:i], int32(p), err
}

func isNumberIn(s string, lo, hi int) bool {
	n, err := strconv.Atoi(s)
	return err == nil && n >= lo && n <= hi
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func deref[T any](p *T) any {
	if p == nil {
		return "unset"
	}
	return *p
}

// TestKustomizeBuild builds the kustomization with kubectl's kustomize,
// when kubectl is installed, and decodes its output (one multi-document
// stream) strictly: every object, and each in the kustomization's
// namespace.
func TestKustomizeBuild(t *testing.T) {
	kubectl, err := exec.LookPath("kubectl")
	if err != nil {
		t.Skip("kubectl is not installed: the kustomization is checked by TestKustomization only")
	}
	out, err := exec.Command(kubectl, "kustomize", ".").Output()
	if err != nil {
		t.Fatalf("kubectl kustomize: %v", err)
	}
	objs, err := Decode("kubectl kustomize output", bytes.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(KustomizationFile)
	if err != nil {
		t.Fatal(err)
	}
	k, err := DecodeKustomization(KustomizationFile, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(objs) != len(k.Resources) {
		t.Errorf("kustomize built %d objects from %d resources", len(objs), len(k.Resources))
	}
	for _, o := range objs {
		mo, ok := o.Object.(metav1.Object)
		if !ok {
			t.Fatalf("document %d has no metadata", o.Doc)
		}
		if _, isNS := o.Object.(*corev1.Namespace); !isNS && mo.GetNamespace() != k.Namespace {
			t.Errorf("document %d (%s) is in namespace %q, want %q", o.Doc, mo.GetName(), mo.GetNamespace(), k.Namespace)
		}
	}
}
