package main

// These tests keep deploy/ honest: the files there are not compiled, so
// nothing else notices when a config key, an environment variable or a
// metric they name stops existing. Each test reads them as the tool that
// uses them would, then checks what they name against the worker itself.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"

	"github.com/herald-dispatch/herald/providers"
	"github.com/herald-dispatch/herald/tasks"
	"github.com/herald-dispatch/herald/worker"
)

// deployDir is the repository's deploy/, from this package's directory.
const deployDir = "../../deploy"

// adminShutdownBound is how long worker.Run gives the admin server to close
// after the jobs' shutdown timeout; a grace period must cover both.
const adminShutdownBound = 5 * time.Second

// deployNonConfigEnv are the HERALD_ variables in deploy/ that are not
// config keys, each with the source file that must read it.
var deployNonConfigEnv = map[string]string{
	"HERALD_CONFIG":            "main.go",              // -config's default
	"HERALD_SIM_CLIENT_SECRET": "../simulator/main.go", // the simulator's secret
}

// (a) The production example loads once its secrets come from the
// environment, and names the missing secret when they do not.
func TestDeployExampleConfig(t *testing.T) {
	path := filepath.Join(deployDir, "herald.example.yaml")
	secretFile := deployWriteFile(t, "secret", "from-a-file\n")
	tests := []struct {
		name       string
		env        []string
		wantSecret string   // the client secret loaded, when it loads
		wantKeys   []string // else the ConfigError's key is one of these
	}{
		{"secrets as files", []string{
			"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET_FILE=" + secretFile,
			"HERALD_ADMIN_MONITORING_PASSWORD_FILE=" + secretFile,
		}, "from-a-file", nil},
		{"secrets as values", []string{
			"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=from-env",
			"HERALD_ADMIN_MONITORING_PASSWORD=from-env",
		}, "from-env", nil},
		{"no client secret", []string{"HERALD_ADMIN_MONITORING_PASSWORD=x"}, "", []string{"easemob.default.client_secret"}},
		{"no monitoring password", []string{"HERALD_EASEMOB_DEFAULT_CLIENT_SECRET=x"}, "", []string{"admin.monitoring.password"}},
		{"no secrets at all", nil, "", []string{"easemob.default.client_secret", "admin.monitoring.password"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := worker.LoadConfig(path, tt.env)
			if tt.wantKeys != nil {
				var ce *worker.ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("LoadConfig = %v, want a *ConfigError naming one of %v", err, tt.wantKeys)
				}
				if !slices.Contains(tt.wantKeys, ce.Key) {
					t.Fatalf("ConfigError names %q, want one of %v", ce.Key, tt.wantKeys)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := cfg.Easemob["default"].ClientSecret; got != tt.wantSecret {
				t.Errorf("client secret = %q, want %q", got, tt.wantSecret)
			}
			// What makes it a production example rather than a demo.
			if !cfg.Redis.Configured() {
				t.Error("the example configures no Redis: the worker would run in demo mode")
			}
			if m := cfg.Admin.Monitoring; m.Disabled || m.ReadWrite || m.Username == "" {
				t.Errorf("monitoring = %+v, want the UI on, read-only, behind a username", m)
			}
			if len(cfg.Easemob["default"].Limits) == 0 {
				t.Error("the example shows no limits override")
			}
		})
	}
}

// Secrets come from the environment; no file in deploy/ that the worker
// reads as config may set one.
func TestDeployConfigFilesHoldNoSecrets(t *testing.T) {
	files := map[string][]byte{}
	b, err := os.ReadFile(filepath.Join(deployDir, "herald.example.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	files["herald.example.yaml"] = b
	for _, cm := range deployKubeObjects(t, "ConfigMap") {
		for key, data := range cm.Data {
			files["configmap "+cm.Metadata.Name+"/"+key] = []byte(data)
		}
	}
	for name, b := range files {
		var cfg worker.Config
		dec := yaml.NewDecoder(bytes.NewReader(b))
		dec.KnownFields(true)
		if err := dec.Decode(&cfg); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if set := deploySecretsSet(reflect.ValueOf(cfg), ""); len(set) > 0 {
			t.Errorf("%s sets secrets %v: give them as HERALD_..._FILE", name, set)
		}
	}
}

// (b) Every YAML file under deploy/ parses, every document of it.
func TestDeployYAMLParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(path); ext != ".yaml" && ext != ".yml" {
			return nil
		}
		n++
		docs := deployYAMLDocs(t, path)
		if len(docs) == 0 {
			t.Errorf("%s: no YAML document", path)
		}
		if strings.Contains(filepath.ToSlash(path), "/kubernetes/") {
			for i, doc := range docs {
				var head struct {
					APIVersion string `yaml:"apiVersion"`
					Kind       string `yaml:"kind"`
				}
				if err := doc.Decode(&head); err != nil || head.APIVersion == "" || head.Kind == "" {
					t.Errorf("%s document %d: no apiVersion and kind (%v)", path, i, err)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 5 {
		t.Errorf("found %d YAML files under %s; is the path right?", n, deployDir)
	}
}

// (c) Every metric, label and label value the alerts name is one the
// worker exports.
func TestDeployAlertsUseRealMetrics(t *testing.T) {
	metrics, literals := deployWorkerMetrics(t)
	known := deployKnownLabelValues(literals)

	var rules struct {
		Groups []struct {
			Name  string
			Rules []struct {
				Alert       string
				Expr        string
				For         string
				Labels      map[string]string
				Annotations map[string]string
			}
		}
	}
	docs := deployYAMLDocs(t, filepath.Join(deployDir, "prometheus", "alerts.yaml"))
	if len(docs) != 1 {
		t.Fatalf("alerts.yaml: %d documents, want 1", len(docs))
	}
	if err := docs[0].Decode(&rules); err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	heraldMetricsUsed := map[string]bool{}
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			where := g.Name + "/" + r.Alert
			if r.Alert == "" || r.Expr == "" {
				t.Errorf("%s: a rule without alert name or expr", where)
				continue
			}
			if seen[r.Alert] {
				t.Errorf("%s: alert name used twice", where)
			}
			seen[r.Alert] = true
			if s := r.Labels["severity"]; s != "critical" && s != "warning" && s != "info" {
				t.Errorf("%s: severity %q, want critical, warning or info", where, s)
			}
			if r.Annotations["summary"] == "" {
				t.Errorf("%s: no summary", where)
			}
			if r.For != "" {
				if _, err := time.ParseDuration(r.For); err != nil {
					t.Errorf("%s: for %q: %v", where, r.For, err)
				}
			}
			usable, used := deployCheckPromQL(t, where, r.Expr, metrics, known)
			for _, m := range used {
				if strings.HasPrefix(m, "herald_") {
					heraldMetricsUsed[m] = true
				}
			}
			for _, text := range []string{r.Annotations["summary"], r.Annotations["description"]} {
				for _, m := range regexp.MustCompile(`\$labels\.(\w+)`).FindAllStringSubmatch(text, -1) {
					if !usable[m[1]] {
						t.Errorf("%s: annotation uses $labels.%s, which no metric in the expression has", where, m[1])
					}
				}
			}
		}
	}
	if len(seen) == 0 {
		t.Fatal("alerts.yaml has no rules")
	}
	if len(heraldMetricsUsed) == 0 {
		t.Error("no alert uses a herald_ metric")
	}
}

// (d) Every HERALD_ variable named anywhere in deploy/ is one the worker
// reads: a config key by its documented spelling, or one of the few
// variables a command reads itself.
func TestDeployEnvNamesAreConfigKeys(t *testing.T) {
	pattern := deployEnvPattern()
	for name, src := range deployNonConfigEnv {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(b, []byte(strconv.Quote(name))) {
			t.Errorf("%s no longer reads %s", src, name)
		}
	}
	names := map[string][]string{}
	nameRE := regexp.MustCompile(`HERALD_[A-Z0-9_]*`)
	err := filepath.WalkDir(deployDir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, name := range nameRE.FindAllString(string(b), -1) {
			// HERALD_..._FILE, HERALD_EASEMOB_<ACCOUNT>_...: prose, not a name.
			if !strings.HasSuffix(name, "_") {
				names[name] = append(names[name], path)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) == 0 {
		t.Fatal("no HERALD_ variable found under deploy/")
	}
	for name, paths := range names {
		if _, ok := deployNonConfigEnv[name]; ok {
			continue
		}
		if !pattern.MatchString(name) {
			t.Errorf("%s (in %v) is not a config key the worker reads", name, slices.Compact(paths))
		}
	}
}

// The image's own environment: off loopback, the worker must refuse to
// serve the queue UI without a password, and start once the UI is off.
func TestDeployImageEnv(t *testing.T) {
	env := deployDockerfileEnv(t)
	if _, err := worker.LoadConfig("", env); !deployIsConfigError(err, "admin.monitoring.password") {
		t.Errorf("image env alone: LoadConfig = %v, want the admin.monitoring.password ConfigError", err)
	}
	cfg, err := worker.LoadConfig("", append(env, "HERALD_ADMIN_MONITORING_DISABLED=true"))
	if err != nil {
		t.Fatalf("image env with the UI off: %v", err)
	}
	host, port, err := net.SplitHostPort(cfg.Admin.Addr)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(host); host == "localhost" || (ip != nil && ip.IsLoopback()) {
		t.Errorf("the image's admin addr %q is loopback: unreachable from outside the container", cfg.Admin.Addr)
	}
	b, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`(?m)^EXPOSE\s+` + port + `\b`).Match(b) {
		t.Errorf("the Dockerfile does not EXPOSE the admin port %s", port)
	}
}

// The Dockerfile builds with the Go that go.mod asks for, builds packages
// that exist, and runs binaries it built.
func TestDeployDockerfile(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(b)
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goDirective := regexp.MustCompile(`(?m)^go (\d+\.\d+)`).FindSubmatch(mod)
	goArg := regexp.MustCompile(`(?m)^ARG GO_VERSION=(\S+)`).FindStringSubmatch(df)
	if goDirective == nil || goArg == nil {
		t.Fatalf("go directive %q, ARG GO_VERSION %q: one is missing", goDirective, goArg)
	}
	if goArg[1] != string(goDirective[1]) {
		t.Errorf("Dockerfile builds with Go %s, go.mod says %s", goArg[1], goDirective[1])
	}
	build := regexp.MustCompile(`go build [^\n]*-o /out/((?:\s*\\?\s*\./[\w/]+)+)`).FindStringSubmatch(df)
	if build == nil {
		t.Fatal("no `go build ... -o /out/ ./pkg...` in the Dockerfile")
	}
	built := map[string]bool{}
	for _, pkg := range regexp.MustCompile(`\./[\w/]+`).FindAllString(build[1], -1) {
		if name := deployPackageName(t, filepath.Join("../..", pkg)); name != "main" {
			t.Errorf("Dockerfile builds %s, which is package %q, not a command", pkg, name)
		}
		built["/usr/local/bin/"+filepath.Base(pkg)] = true
	}
	for _, want := range []string{"./cmd/worker", "./cmd/producer", "./cmd/simulator"} {
		if !strings.Contains(build[1], want) {
			t.Errorf("the image does not build %s", want)
		}
	}
	entry := regexp.MustCompile(`(?m)^ENTRYPOINT \["([^"]+)"\]`).FindStringSubmatch(df)
	if entry == nil || !strings.HasSuffix(entry[1], "/worker") || !built[entry[1]] {
		t.Errorf("ENTRYPOINT %q: want the worker the image builds", entry)
	}
	// Compose runs the other binaries; they must be the image's.
	for name, svc := range deployCompose(t).Services {
		if svc.Image != "herald:dev" {
			continue
		}
		for _, bin := range append(slices.Clone(svc.Entrypoint), svc.Healthcheck.Test...) {
			if strings.HasPrefix(bin, "/usr/local/bin/") && !built[bin] {
				t.Errorf("compose service %s runs %s, which the image does not build", name, bin)
			}
		}
	}
}

// The Compose workers' config is the example with the playground's
// environment over it: it must load, every variable must change something,
// and the simulator must accept what the workers send.
func TestDeployComposeWorkers(t *testing.T) {
	c := deployCompose(t)
	w, ok := c.Services["worker"]
	if !ok {
		t.Fatal("compose.yaml has no worker service")
	}
	if w.Deploy.Replicas < 2 {
		t.Errorf("worker replicas = %d: the scale-out playground runs at least 2", w.Deploy.Replicas)
	}
	own := deployComposeEnv(t, w)
	configPath := ""
	for _, v := range w.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && parts[1] == deployEnvValue(own, "HERALD_CONFIG") {
			configPath = filepath.Join(deployDir, parts[0])
		}
	}
	if configPath == "" {
		t.Fatalf("no volume mounts the file HERALD_CONFIG names (%q)", deployEnvValue(own, "HERALD_CONFIG"))
	}
	env := append(deployDockerfileEnv(t), own...)
	cfg, err := worker.LoadConfig(configPath, env)
	if err != nil {
		t.Fatalf("the compose worker's config does not load: %v", err)
	}
	deployEachVarMatters(t, configPath, env, own)

	if grace, err := time.ParseDuration(w.StopGracePeriod); err != nil || grace <= cfg.ShutdownTimeout.D()+adminShutdownBound {
		t.Errorf("stop_grace_period %q must exceed shutdown_timeout %s + %s", w.StopGracePeriod, cfg.ShutdownTimeout.D(), adminShutdownBound)
	}
	if len(w.Healthcheck.Test) == 0 || !strings.Contains(strings.Join(w.Healthcheck.Test, " "), "/readyz") {
		t.Errorf("worker healthcheck %v does not probe /readyz", w.Healthcheck.Test)
	}

	// The simulator: whatever serves the account's base URL.
	acct := cfg.Easemob["default"]
	host, port := deployHostPort(t, acct.BaseURL)
	sim, ok := c.Services[host]
	if !ok {
		t.Fatalf("easemob.default.base_url %s names no compose service", acct.BaseURL)
	}
	flags := deployFlags(sim.Command)
	if _, simPort, _ := net.SplitHostPort(flags["addr"]); simPort != port {
		t.Errorf("simulator listens on %q, workers call port %s", flags["addr"], port)
	}
	for flag, want := range map[string]string{"provider": "easemob", "org": acct.OrgName, "app": acct.AppName, "client-id": acct.ClientID} {
		if flags[flag] != want {
			t.Errorf("simulator -%s %q, workers send %q", flag, flags[flag], want)
		}
	}
	if got := deployEnvValue(deployComposeEnv(t, sim), "HERALD_SIM_CLIENT_SECRET"); got == "" || got != acct.ClientSecret {
		t.Errorf("simulator secret %q and workers' client secret differ: every job would fail unauthorized", got)
	}
}

// The Kubernetes workers' config is the ConfigMap with the Deployment's
// environment over it, secrets read from the Secret's files.
func TestDeployKubernetesWorkers(t *testing.T) {
	var dep deployKubeObject
	for _, d := range deployKubeObjects(t, "Deployment") {
		if d.Metadata.Name == "herald-worker" {
			dep = d
		}
	}
	pod := dep.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("herald-worker deployment: %d containers, want the worker alone", len(pod.Containers))
	}
	ctr := pod.Containers[0]
	dir := t.TempDir()

	// Where a path inside the container comes from.
	source := func(path string) (volume deployKubeVolume, key string) {
		for _, m := range ctr.VolumeMounts {
			if filepath.Dir(path) != filepath.Clean(m.MountPath) {
				continue
			}
			for _, v := range pod.Volumes {
				if v.Name != m.Name {
					continue
				}
				key = filepath.Base(path)
				for _, it := range append(v.ConfigMap.Items, v.Secret.Items...) {
					if it.Path == key {
						key = it.Key
					}
				}
				return v, key
			}
		}
		t.Fatalf("nothing is mounted at %s", path)
		return
	}

	var own []string
	configPath := ""
	for _, e := range ctr.Env {
		if !strings.HasPrefix(e.Name, "HERALD_") {
			continue
		}
		val := e.Value
		switch {
		case e.Name == "HERALD_CONFIG":
			v, key := source(val)
			data, ok := deployKubeObject{}, false
			for _, cm := range deployKubeObjects(t, "ConfigMap") {
				if cm.Metadata.Name == v.ConfigMap.Name {
					data, ok = cm, true
				}
			}
			if !ok || data.Data[key] == "" {
				t.Fatalf("HERALD_CONFIG %s: configmap %q has no key %q", val, v.ConfigMap.Name, key)
			}
			configPath = deployWriteFile(t, "herald.yaml", data.Data[key])
			val = configPath
		case strings.HasSuffix(e.Name, "_FILE"):
			v, key := source(val)
			found := false
			for _, s := range deployKubeObjects(t, "Secret") {
				if s.Metadata.Name == v.Secret.SecretName {
					_, found = s.StringData[key]
				}
			}
			if !found {
				t.Errorf("%s=%s: secret %q (secret.example.yaml) has no key %q", e.Name, val, v.Secret.SecretName, key)
			}
			val = filepath.Join(dir, key)
			if err := os.WriteFile(val, []byte("fake-"+key+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		own = append(own, e.Name+"="+val)
	}
	if configPath == "" {
		t.Fatal("the worker container sets no HERALD_CONFIG")
	}
	env := append(deployDockerfileEnv(t), own...)
	cfg, err := worker.LoadConfig(configPath, env)
	if err != nil {
		t.Fatalf("the kubernetes worker's config does not load: %v", err)
	}
	deployEachVarMatters(t, configPath, env, own)

	if pod.TerminationGracePeriodSeconds <= int((cfg.ShutdownTimeout.D() + adminShutdownBound).Seconds()) {
		t.Errorf("terminationGracePeriodSeconds %d must exceed shutdown_timeout %s + %s",
			pod.TerminationGracePeriodSeconds, cfg.ShutdownTimeout.D(), adminShutdownBound)
	}
	_, adminPort, err := net.SplitHostPort(cfg.Admin.Addr)
	if err != nil {
		t.Fatal(err)
	}
	ports := map[string]string{}
	for _, p := range ctr.Ports {
		ports[p.Name] = strconv.Itoa(p.ContainerPort)
	}
	for _, probe := range []struct {
		name string
		p    deployKubeProbe
		path string
	}{{"liveness", ctr.LivenessProbe, "/healthz"}, {"readiness", ctr.ReadinessProbe, "/readyz"}} {
		port := probe.p.HTTPGet.Port
		if named, ok := ports[port]; ok {
			port = named
		}
		if probe.p.HTTPGet.Path != probe.path || port != adminPort {
			t.Errorf("%s probe GETs %s on port %s, want %s on the admin port %s", probe.name, probe.p.HTTPGet.Path, port, probe.path, adminPort)
		}
	}
	if got := dep.Spec.Template.Metadata.Annotations["prometheus.io/port"]; got != adminPort {
		t.Errorf("prometheus.io/port %q, want the admin port %s", got, adminPort)
	}
	if !pod.SecurityContext.RunAsNonRoot || !ctr.SecurityContext.ReadOnlyRootFilesystem {
		t.Error("the worker must run as non-root on a read-only root filesystem")
	}
}

// deployEachVarMatters fails for each variable in own whose removal from
// env leaves LoadConfig's answer as it was: a name the worker ignores, or a
// value the file already holds.
func deployEachVarMatters(t *testing.T, configPath string, env, own []string) {
	t.Helper()
	load := func(env []string) string {
		cfg, err := worker.LoadConfig(configPath, env)
		return fmt.Sprintf("%#v %v", cfg, err)
	}
	all := load(env)
	for _, kv := range own {
		name, _, _ := strings.Cut(kv, "=")
		if _, ok := deployNonConfigEnv[name]; ok {
			continue
		}
		without := slices.DeleteFunc(slices.Clone(env), func(e string) bool { return strings.HasPrefix(e, name+"=") })
		if load(without) == all {
			t.Errorf("%s changes nothing: the worker does not read it, or the config already says so", name)
		}
	}
}

// deployEnvPattern matches every variable applyEnv reads, built from the
// yaml tags of worker.Config the same way applyEnv walks them.
func deployEnvPattern() *regexp.Regexp {
	var alts []string
	var walk func(t reflect.Type, prefix string)
	walk = func(t reflect.Type, prefix string) {
		for i := range t.NumField() {
			f := t.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if tag == "" || tag == "-" {
				continue
			}
			name := prefix + "_" + strings.ToUpper(tag)
			switch {
			case f.Type.Kind() == reflect.Struct:
				walk(f.Type, name)
			case f.Type.Kind() == reflect.Map && f.Type.Elem().Kind() == reflect.Struct:
				walk(f.Type.Elem(), name+"_[A-Z0-9_]+")
			case f.Type.Kind() == reflect.Map:
				alts = append(alts, name+"_[A-Z0-9_]+")
			case f.Tag.Get("secret") == "true":
				alts = append(alts, name+"(_FILE)?")
			default:
				alts = append(alts, name)
			}
		}
	}
	walk(reflect.TypeFor[worker.Config](), "HERALD")
	return regexp.MustCompile("^(" + strings.Join(alts, "|") + ")$")
}

// deploySecretsSet lists the secret fields v sets.
func deploySecretsSet(v reflect.Value, path string) []string {
	var out []string
	switch v.Kind() {
	case reflect.Struct:
		for i := range v.NumField() {
			f := v.Type().Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			p := strings.TrimPrefix(path+"."+tag, ".")
			if f.Tag.Get("secret") == "true" && !v.Field(i).IsZero() {
				out = append(out, p)
			}
			out = append(out, deploySecretsSet(v.Field(i), p)...)
		}
	case reflect.Map:
		for _, k := range v.MapKeys() {
			out = append(out, deploySecretsSet(v.MapIndex(k), path+"."+k.String())...)
		}
	}
	return out
}

// deployWorkerMetrics finds every metric the worker package defines, by
// reading its source (the queue collector is built only inside worker.New,
// on a live Redis), and checks the reading against what NewMetrics really
// registers. It returns metric name -> labels, with a histogram's series,
// and every string literal in the source, for label values.
func deployWorkerMetrics(t *testing.T) (map[string][]string, map[string]bool) {
	t.Helper()
	fset := token.NewFileSet()
	paths, err := filepath.Glob("../../worker/*.go")
	if err != nil {
		t.Fatal(err)
	}
	metrics := map[string][]string{}
	literals := map[string]bool{}
	strLit := func(e ast.Expr) (string, bool) {
		if bl, ok := e.(*ast.BasicLit); ok && bl.Kind == token.STRING {
			s, err := strconv.Unquote(bl.Value)
			return s, err == nil
		}
		return "", false
	}
	strList := func(e ast.Expr) []string {
		var out []string
		if cl, ok := e.(*ast.CompositeLit); ok {
			for _, el := range cl.Elts {
				if s, ok := strLit(el); ok {
					out = append(out, s)
				}
			}
		}
		return out
	}
	add := func(name, kind string, labels []string) {
		metrics[name] = labels
		if kind == "Histogram" || kind == "Summary" {
			metrics[name+"_sum"] = labels
			metrics[name+"_count"] = labels
		}
		if kind == "Histogram" {
			metrics[name+"_bucket"] = append(slices.Clone(labels), "le")
		}
	}
	for _, path := range paths {
		if strings.HasSuffix(path, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := strLit(asExpr(n)); ok {
				literals[s] = true
			}
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if pkg, ok := sel.X.(*ast.Ident); !ok || pkg.Name != "prometheus" {
				return true
			}
			fn := sel.Sel.Name
			switch {
			case fn == "NewDesc" && len(call.Args) >= 3:
				if name, ok := strLit(call.Args[0]); ok {
					add(name, "", strList(call.Args[2]))
				}
			case strings.HasPrefix(fn, "New") && len(call.Args) >= 1:
				kind := strings.TrimSuffix(strings.TrimPrefix(fn, "New"), "Vec")
				opts, ok := call.Args[0].(*ast.CompositeLit)
				if !ok {
					return true
				}
				for _, el := range opts.Elts {
					kv, ok := el.(*ast.KeyValueExpr)
					if !ok {
						continue
					}
					if k, ok := kv.Key.(*ast.Ident); !ok || k.Name != "Name" {
						continue
					}
					if name, ok := strLit(kv.Value); ok {
						var labels []string
						if len(call.Args) >= 2 {
							labels = strList(call.Args[1])
						}
						add(name, kind, labels)
					}
				}
			}
			return true
		})
	}

	// What NewMetrics registers must be what the source reading found.
	var reg deployCaptureRegisterer
	worker.NewMetrics(&reg)
	if len(reg.descs) == 0 {
		t.Fatal("NewMetrics registered nothing")
	}
	descRE := regexp.MustCompile(`fqName: "([^"]*)".*variableLabels: \{([^}]*)\}`)
	for _, d := range reg.descs {
		m := descRE.FindStringSubmatch(d.String())
		if m == nil {
			t.Fatalf("cannot read %s", d)
		}
		var labels []string
		for _, l := range strings.Split(m[2], ",") {
			if l = strings.TrimSuffix(strings.TrimPrefix(l, "c("), ")"); l != "" {
				labels = append(labels, l)
			}
		}
		if got, ok := metrics[m[1]]; !ok || !slices.Equal(got, labels) {
			t.Fatalf("NewMetrics registers %s%v; reading worker/*.go found %v (%v)", m[1], labels, got, ok)
		}
	}
	return metrics, literals
}

func asExpr(n ast.Node) ast.Expr {
	e, _ := n.(ast.Expr)
	return e
}

// deployCaptureRegisterer keeps the descriptors of what is registered.
type deployCaptureRegisterer struct{ descs []*prometheus.Desc }

func (r *deployCaptureRegisterer) Register(c prometheus.Collector) error {
	ch := make(chan *prometheus.Desc)
	go func() { c.Describe(ch); close(ch) }()
	for d := range ch {
		r.descs = append(r.descs, d)
	}
	return nil
}

func (r *deployCaptureRegisterer) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		_ = r.Register(c)
	}
}

func (r *deployCaptureRegisterer) Unregister(prometheus.Collector) bool { return false }

// deployExternalMetrics are the metrics alerts may use that come from
// Prometheus itself or kube-state-metrics, with their labels.
var deployExternalMetrics = map[string][]string{
	"up": {"job", "instance"},
	"kube_deployment_status_replicas_available": {"namespace", "deployment"},
	"kube_deployment_spec_replicas":             {"namespace", "deployment"},
}

// deployExternalLabels are the labels Prometheus adds to every series.
var deployExternalLabels = map[string]bool{"job": true, "instance": true}

func deployLookupMetric(metrics map[string][]string, name string) ([]string, bool) {
	if l, ok := metrics[name]; ok {
		return l, true
	}
	l, ok := deployExternalMetrics[name]
	return l, ok
}

// deployKnownLabelValues is each label's possible values, where the worker
// fixes them.
func deployKnownLabelValues(literals map[string]bool) map[string]map[string]bool {
	set := func(vs ...string) map[string]bool {
		m := map[string]bool{}
		for _, v := range vs {
			m[v] = true
		}
		return m
	}
	var provs, limits []string
	for _, p := range tasks.Providers() {
		provs = append(provs, string(p))
		for name := range worker.DefaultLimits(p) {
			limits = append(limits, name)
		}
	}
	var classes []string
	for c := providers.Class(0); !strings.HasPrefix(c.String(), "Class("); c++ {
		classes = append(classes, c.String())
	}
	return map[string]map[string]bool{
		"provider": set(provs...),
		"queue":    set(provs...),
		"job_type": set(tasks.Types()...),
		"class":    set(classes...),
		"limit":    set(limits...),
		// Set from literals in the worker's code.
		"result": literals,
		"state":  literals,
	}
}

// deployPromQL is what an expression refers to.
type deployPromQL struct {
	refs     []deployMetricRef
	grouping []string // labels in by, without, on, ignoring, group_left/right
}

type deployMetricRef struct {
	metric   string
	matchers []deployMatcher
}

type deployMatcher struct{ label, op, value string }

// values lists the plain values a matcher names: its value, or the
// alternatives of a simple regexp.
func (m deployMatcher) values() []string {
	if m.op == "=" || m.op == "!=" {
		return []string{m.value}
	}
	var out []string
	for _, alt := range strings.Split(m.value, "|") {
		if regexp.MustCompile(`^[a-z0-9_.:]+$`).MatchString(alt) {
			out = append(out, alt)
		}
	}
	return out
}

// deployCheckPromQL checks that every metric expr names is one the worker
// (or Prometheus, or kube-state-metrics) exports, with the labels and
// label values it matches on, and that it groups only by labels those
// metrics have. It returns the labels usable in templates (annotations,
// legends) and the metrics named.
func deployCheckPromQL(t *testing.T, where, expr string, metrics map[string][]string, known map[string]map[string]bool) (map[string]bool, []string) {
	t.Helper()
	q := deployScanPromQL(expr)
	usable := map[string]bool{"le": true}
	for l := range deployExternalLabels {
		usable[l] = true
	}
	var used []string
	for _, ref := range q.refs {
		labels, ok := deployLookupMetric(metrics, ref.metric)
		if !ok {
			if branch, pending := deployPendingMetrics[ref.metric]; pending {
				t.Logf("%s: %s is not registered yet (coming with %s); its labels are unchecked", where, ref.metric, branch)
				used = append(used, ref.metric)
				continue
			}
			t.Errorf("%s: metric %q is not one the worker exports", where, ref.metric)
			continue
		}
		used = append(used, ref.metric)
		for _, l := range labels {
			usable[l] = true
		}
		for _, m := range ref.matchers {
			if deployExternalLabels[m.label] {
				continue // Prometheus adds it to every series it scrapes
			}
			if !slices.Contains(labels, m.label) {
				t.Errorf("%s: %s has no label %q (it has %v)", where, ref.metric, m.label, labels)
				continue
			}
			if !strings.HasPrefix(ref.metric, "herald_") {
				continue
			}
			for _, v := range m.values() {
				if vals, ok := known[m.label]; ok && !vals[v] {
					t.Errorf("%s: %s{%s=%q}: the worker never sets %s to %q", where, ref.metric, m.label, v, m.label, v)
				}
			}
		}
	}
	for _, l := range q.grouping {
		if !usable[l] {
			t.Errorf("%s: groups by %q, which no metric in the expression has", where, l)
		}
	}
	return usable, used
}

// deployPendingMetrics are metrics deploy/ may name before the worker
// registers them, each with the branch that adds it. Once registered, a
// metric is checked like any other; remove it here then.
var deployPendingMetrics = map[string]string{}

// deployScanPromQL reads the metric selectors and grouping labels out of a
// PromQL expression. It is no parser, but PromQL's lexical shape is simple
// enough: an identifier followed by "(" is a function, a few are keywords,
// any other is a metric name, and strings and [ranges] hold neither.
func deployScanPromQL(expr string) deployPromQL {
	var q deployPromQL
	keywords := map[string]bool{"and": true, "or": true, "unless": true, "bool": true, "offset": true, "atan2": true}
	// Aggregations may put their by/without clause before the parenthesis.
	for _, agg := range []string{"sum", "min", "max", "avg", "group", "stddev", "stdvar", "count", "count_values", "bottomk", "topk", "quantile", "limitk", "limit_ratio"} {
		keywords[agg] = true
	}
	grouping := map[string]bool{"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true}
	isIdentStart := func(c byte) bool { return c == '_' || c == ':' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
	isIdent := func(c byte) bool { return isIdentStart(c) || c >= '0' && c <= '9' }
	skipSpace := func(i int) int {
		for i < len(expr) && strings.ContainsRune(" \t\r\n", rune(expr[i])) {
			i++
		}
		return i
	}
	for i := 0; i < len(expr); {
		c := expr[i]
		switch {
		case c == '"' || c == '\'' || c == '`':
			i = deploySkipString(expr, i)
		case c == '[':
			end := strings.IndexByte(expr[i:], ']')
			if end < 0 {
				return q
			}
			i += end + 1
		case c >= '0' && c <= '9' || c == '.':
			for i < len(expr) && (isIdent(expr[i]) || expr[i] == '.') {
				i++
			}
		case isIdentStart(c):
			j := i
			for j < len(expr) && isIdent(expr[j]) {
				j++
			}
			word := expr[i:j]
			next := skipSpace(j)
			switch {
			case grouping[word]:
				if next < len(expr) && expr[next] == '(' {
					end := strings.IndexByte(expr[next:], ')')
					if end < 0 {
						return q
					}
					end += next
					for _, l := range strings.Split(expr[next+1:end], ",") {
						if l = strings.TrimSpace(l); l != "" {
							q.grouping = append(q.grouping, l)
						}
					}
					j = end + 1
				}
			case keywords[word]:
			case next < len(expr) && expr[next] == '(':
				// a function
			default:
				ref := deployMetricRef{metric: word}
				if next < len(expr) && expr[next] == '{' {
					var end int
					ref.matchers, end = deployScanMatchers(expr, next)
					j = end
				}
				q.refs = append(q.refs, ref)
			}
			i = j
		default:
			i++
		}
	}
	return q
}

// deployScanMatchers reads {label op "value", ...} starting at the brace and
// returns the index after the closing one.
func deployScanMatchers(expr string, i int) ([]deployMatcher, int) {
	re := regexp.MustCompile(`^\s*(\w+)\s*(=~|!~|!=|=)\s*("(?:[^"\\]|\\.)*")\s*,?`)
	var out []deployMatcher
	i++ // {
	for i < len(expr) {
		if rest := strings.TrimLeft(expr[i:], " \t\r\n"); strings.HasPrefix(rest, "}") {
			return out, len(expr) - len(rest) + 1
		}
		m := re.FindStringSubmatchIndex(expr[i:])
		if m == nil {
			return append(out, deployMatcher{label: "<unreadable matcher at " + expr[i:] + ">"}), len(expr)
		}
		val, _ := strconv.Unquote(expr[i+m[6] : i+m[7]])
		out = append(out, deployMatcher{label: expr[i+m[2] : i+m[3]], op: expr[i+m[4] : i+m[5]], value: val})
		i += m[1]
	}
	return out, i
}

func deploySkipString(s string, i int) int {
	quote := s[i]
	for i++; i < len(s); i++ {
		switch {
		case s[i] == '\\' && quote != '`':
			i++
		case s[i] == quote:
			return i + 1
		}
	}
	return i
}

// deployCompose is compose.yaml, as much as the tests read of it.
type deployComposeFile struct {
	Services map[string]deployComposeService `yaml:"services"`
}

type deployComposeService struct {
	Image       string    `yaml:"image"`
	Entrypoint  []string  `yaml:"entrypoint"`
	Command     []string  `yaml:"command"`
	Environment yaml.Node `yaml:"environment"`
	EnvFile     yaml.Node `yaml:"env_file"`
	Volumes     []string  `yaml:"volumes"`
	Deploy      struct {
		Replicas int `yaml:"replicas"`
	} `yaml:"deploy"`
	Healthcheck struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	StopGracePeriod string `yaml:"stop_grace_period"`
}

func deployCompose(t *testing.T) deployComposeFile {
	t.Helper()
	var c deployComposeFile
	docs := deployYAMLDocs(t, filepath.Join(deployDir, "compose.yaml"))
	if len(docs) != 1 {
		t.Fatalf("compose.yaml: %d documents, want 1", len(docs))
	}
	if err := docs[0].Decode(&c); err != nil {
		t.Fatal(err)
	}
	return c
}

// deployComposeEnv is a service's environment as Compose gives it: its
// env_files (a git-ignored one read from its committed .example), then
// environment over them.
func deployComposeEnv(t *testing.T, s deployComposeService) []string {
	t.Helper()
	vars := map[string]string{}
	var files []string
	switch s.EnvFile.Kind {
	case yaml.ScalarNode:
		files = append(files, s.EnvFile.Value)
	case yaml.SequenceNode:
		for _, n := range s.EnvFile.Content {
			if n.Kind == yaml.ScalarNode {
				files = append(files, n.Value)
				continue
			}
			var long struct{ Path string }
			if err := n.Decode(&long); err != nil {
				t.Fatal(err)
			}
			files = append(files, long.Path)
		}
	}
	for _, f := range files {
		path := filepath.Join(deployDir, f)
		if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
			path += ".example"
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("env_file %s: %v", f, err)
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: %q is not NAME=value", path, line)
			}
			vars[k] = v
		}
	}
	switch s.Environment.Kind {
	case yaml.MappingNode:
		var m map[string]string
		if err := s.Environment.Decode(&m); err != nil {
			t.Fatal(err)
		}
		for k, v := range m {
			vars[k] = v
		}
	case yaml.SequenceNode:
		var l []string
		if err := s.Environment.Decode(&l); err != nil {
			t.Fatal(err)
		}
		for _, kv := range l {
			k, v, _ := strings.Cut(kv, "=")
			vars[k] = v
		}
	}
	out := make([]string, 0, len(vars))
	for k, v := range vars {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// deployKubeObject is a Kubernetes object, as much as the tests read of it.
type deployKubeObject struct {
	Kind     string `yaml:"kind"`
	Metadata struct {
		Name string `yaml:"name"`
	} `yaml:"metadata"`
	Data       map[string]string `yaml:"data"`
	StringData map[string]string `yaml:"stringData"`
	Spec       struct {
		Template struct {
			Metadata struct {
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"metadata"`
			Spec struct {
				TerminationGracePeriodSeconds int `yaml:"terminationGracePeriodSeconds"`
				SecurityContext               struct {
					RunAsNonRoot bool `yaml:"runAsNonRoot"`
				} `yaml:"securityContext"`
				Containers []struct {
					Name string `yaml:"name"`
					Env  []struct {
						Name  string `yaml:"name"`
						Value string `yaml:"value"`
					} `yaml:"env"`
					Ports []struct {
						Name          string `yaml:"name"`
						ContainerPort int    `yaml:"containerPort"`
					} `yaml:"ports"`
					LivenessProbe   deployKubeProbe `yaml:"livenessProbe"`
					ReadinessProbe  deployKubeProbe `yaml:"readinessProbe"`
					SecurityContext struct {
						ReadOnlyRootFilesystem bool `yaml:"readOnlyRootFilesystem"`
					} `yaml:"securityContext"`
					VolumeMounts []struct {
						Name      string `yaml:"name"`
						MountPath string `yaml:"mountPath"`
					} `yaml:"volumeMounts"`
				} `yaml:"containers"`
				Volumes []deployKubeVolume `yaml:"volumes"`
			} `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type deployKubeProbe struct {
	HTTPGet struct {
		Path string `yaml:"path"`
		Port string `yaml:"port"`
	} `yaml:"httpGet"`
}

type deployKubeVolume struct {
	Name      string `yaml:"name"`
	ConfigMap struct {
		Name  string           `yaml:"name"`
		Items []deployKubeItem `yaml:"items"`
	} `yaml:"configMap"`
	Secret struct {
		SecretName string           `yaml:"secretName"`
		Items      []deployKubeItem `yaml:"items"`
	} `yaml:"secret"`
}

type deployKubeItem struct {
	Key  string `yaml:"key"`
	Path string `yaml:"path"`
}

// deployKubeObjects returns the objects of kind in deploy/kubernetes.
func deployKubeObjects(t *testing.T, kind string) []deployKubeObject {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var out []deployKubeObject
	for _, path := range paths {
		for _, doc := range deployYAMLDocs(t, path) {
			var o deployKubeObject
			if err := doc.Decode(&o); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
			if o.Kind == kind {
				out = append(out, o)
			}
		}
	}
	if len(out) == 0 {
		t.Fatalf("no %s in deploy/kubernetes", kind)
	}
	return out
}

// deployYAMLDocs parses every document of a YAML file.
func deployYAMLDocs(t *testing.T, path string) []*yaml.Node {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	var docs []*yaml.Node
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		docs = append(docs, &n)
	}
}

// deployDockerfileEnv is the environment the image sets (ENV K=V lines).
func deployDockerfileEnv(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var env []string
	for _, line := range strings.Split(string(b), "\n") {
		rest, ok := strings.CutPrefix(line, "ENV ")
		if !ok {
			continue
		}
		for _, kv := range strings.Fields(rest) {
			if !strings.Contains(kv, "=") {
				t.Fatalf("Dockerfile: write ENV as NAME=value: %q", line)
			}
			env = append(env, kv)
		}
	}
	return env
}

func deployEnvValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

// deployFlags reads -name value pairs.
func deployFlags(args []string) map[string]string {
	out := map[string]string{}
	for i := 0; i+1 < len(args); i++ {
		if name, ok := strings.CutPrefix(args[i], "-"); ok {
			out[strings.TrimPrefix(name, "-")] = args[i+1]
			i++
		}
	}
	return out
}

func deployHostPort(t *testing.T, rawURL string) (host, port string) {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil || u.Port() == "" {
		t.Fatalf("%q: want a URL with host and port (%v)", rawURL, err)
	}
	return u.Hostname(), u.Port()
}

func deployIsConfigError(err error, key string) bool {
	var ce *worker.ConfigError
	return errors.As(err, &ce) && ce.Key == key
}

func deployWriteFile(t *testing.T, name, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// deployPackageName is the package clause of dir's Go files ("" if none).
func deployPackageName(t *testing.T, dir string) string {
	t.Helper()
	paths, _ := filepath.Glob(filepath.Join(dir, "*.go"))
	for _, p := range paths {
		if strings.HasSuffix(p, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.PackageClauseOnly)
		if err != nil {
			t.Fatal(err)
		}
		return f.Name.Name
	}
	return ""
}
