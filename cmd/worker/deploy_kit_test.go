package main

// The operator's kit in deploy/: the Grafana dashboard and its Compose
// provisioning, the KEDA ScaledObject, the ServiceMonitor and the
// PrometheusRule. Each is read as its tool reads it and every metric it
// names is matched against the worker's own (deployWorkerMetrics).

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// The panels, the metrics they must cover between them, and the labels
// their legends use, all real.
func TestDeployGrafanaDashboard(t *testing.T) {
	metrics, literals := deployWorkerMetrics(t)
	known := deployKnownLabelValues(literals)

	b, err := os.ReadFile(filepath.Join(deployDir, "grafana", "dashboards", "herald.json"))
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID        string `json:"refId"`
		Expr         string `json:"expr"`
		LegendFormat string `json:"legendFormat"`
		Datasource   struct {
			Type string `json:"type"`
			UID  string `json:"uid"`
		} `json:"datasource"`
	}
	var dash struct {
		UID        string `json:"uid"`
		Title      string `json:"title"`
		Templating struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID      int      `json:"id"`
			Title   string   `json:"title"`
			Type    string   `json:"type"`
			Targets []target `json:"targets"`
		} `json:"panels"`
	}
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if err := dec.Decode(&dash); err != nil {
		t.Fatalf("herald.json: %v", err)
	}
	if dash.UID == "" || dash.Title == "" {
		t.Error("the dashboard needs a uid (its URL) and a title")
	}
	vars := map[string]bool{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = true
		if q, ok := v.Query.(string); ok && v.Type == "query" {
			// label_values(metric, label)
			series, label, _ := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(q, "label_values("), ")"), ",")
			usable, _ := deployCheckPromQL(t, "variable "+v.Name, series, metrics, known)
			if !usable[strings.TrimSpace(label)] {
				t.Errorf("variable %s: %s has no label %q", v.Name, series, label)
			}
		}
	}
	used := map[string]bool{}
	ids := map[int]bool{}
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d used twice", p.ID)
		}
		ids[p.ID] = true
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for _, tg := range p.Targets {
			where := "panel " + p.Title + "/" + tg.RefID
			if tg.Datasource.Type != "prometheus" || tg.Datasource.UID != "${datasource}" {
				t.Errorf("%s: datasource %+v, want the dashboard's ${datasource} variable", where, tg.Datasource)
			}
			for _, m := range regexp.MustCompile(`\$(\w+)`).FindAllStringSubmatch(tg.Expr, -1) {
				if !vars[m[1]] && !strings.HasPrefix(m[1], "__") {
					t.Errorf("%s: uses $%s, which the dashboard does not define", where, m[1])
				}
			}
			usable, names := deployCheckPromQL(t, where, tg.Expr, metrics, known)
			pending := false
			for _, n := range names {
				used[strings.TrimSuffix(n, "_bucket")] = true
				_, p := deployPendingMetrics[n]
				pending = pending || p
			}
			for _, m := range regexp.MustCompile(`\{\{\s*(\w+)\s*\}\}`).FindAllStringSubmatch(tg.LegendFormat, -1) {
				if !usable[m[1]] && !pending {
					t.Errorf("%s: legend uses {{%s}}, which the query's result has no label for", where, m[1])
				}
			}
		}
	}
	// What the dashboard is for (issue 12): jobs by result, failures by
	// class, latency, limiter waits, effective rates, queue depth and age.
	for _, m := range []string{
		"herald_jobs_total", "herald_job_failures_total", "herald_job_duration_seconds",
		"herald_limiter_wait_seconds", "herald_limit_effective_rate",
		"herald_queue_tasks", "herald_queue_oldest_pending_seconds", "herald_redis_up",
	} {
		if !used[m] {
			t.Errorf("no panel shows %s", m)
		}
	}
}

// The Compose playground provisions Grafana with the dashboard and a data
// source that is the playground's Prometheus, which scrapes the workers
// under the job name the rules expect and loads the alert rules.
func TestDeployComposeMonitoring(t *testing.T) {
	c := deployCompose(t)
	prom, ok := c.Services["prometheus"]
	if !ok {
		t.Fatal("compose.yaml has no prometheus service")
	}
	graf, ok := c.Services["grafana"]
	if !ok {
		t.Fatal("compose.yaml has no grafana service")
	}
	mounts := func(s deployComposeService) map[string]string { // container path -> host path
		m := map[string]string{}
		for _, v := range s.Volumes {
			parts := strings.Split(v, ":")
			if len(parts) >= 2 {
				m[parts[1]] = filepath.Join(deployDir, parts[0])
			}
		}
		return m
	}
	readYAML := func(path string, v any) {
		t.Helper()
		docs := deployYAMLDocs(t, path)
		if len(docs) != 1 {
			t.Fatalf("%s: %d documents, want 1", path, len(docs))
		}
		if err := docs[0].Decode(v); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
	}

	// Prometheus: its config file, its rule files, the worker scrape.
	pm := mounts(prom)
	var promCfg struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName     string `yaml:"job_name"`
			MetricsPath string `yaml:"metrics_path"`
			DNSSD       []struct {
				Names []string `yaml:"names"`
				Port  int      `yaml:"port"`
			} `yaml:"dns_sd_configs"`
		} `yaml:"scrape_configs"`
	}
	cfgPath, ok := pm["/etc/prometheus/prometheus.yml"]
	if !ok || !slices.Contains(prom.Command, "--config.file=/etc/prometheus/prometheus.yml") {
		t.Fatalf("prometheus does not run the mounted deploy/prometheus/prometheus.yml (mounts %v, command %v)", pm, prom.Command)
	}
	readYAML(cfgPath, &promCfg)
	for _, rf := range promCfg.RuleFiles {
		host, ok := pm[rf]
		if !ok {
			t.Errorf("rule file %s is not mounted", rf)
			continue
		}
		if filepath.Base(host) != "alerts.yaml" {
			t.Errorf("rule file %s is %s, want deploy/prometheus/alerts.yaml", rf, host)
		}
	}
	if len(promCfg.RuleFiles) == 0 {
		t.Error("prometheus.yml loads no rule files")
	}
	_, adminPort := deployHostPort(t, "http://"+deployComposeAdminAddr(t))
	scraped := false
	for _, sc := range promCfg.ScrapeConfigs {
		if sc.JobName != "herald-worker" {
			continue
		}
		for _, sd := range sc.DNSSD {
			if slices.Contains(sd.Names, "worker") && strconv.Itoa(sd.Port) == adminPort && sc.MetricsPath == "/metrics" {
				scraped = true
			}
		}
	}
	if !scraped {
		t.Errorf("prometheus.yml does not scrape the worker service's admin port %s/metrics as job herald-worker", adminPort)
	}

	// Grafana: the data source is that Prometheus; the dashboards folder
	// holds herald.json.
	gm := mounts(graf)
	prov, ok := gm["/etc/grafana/provisioning"]
	if !ok {
		t.Fatalf("grafana mounts no provisioning (mounts %v)", gm)
	}
	var dsCfg struct {
		Datasources []struct {
			Type string `yaml:"type"`
			URL  string `yaml:"url"`
		} `yaml:"datasources"`
	}
	readYAML(filepath.Join(prov, "datasources", "prometheus.yaml"), &dsCfg)
	if len(dsCfg.Datasources) != 1 || dsCfg.Datasources[0].Type != "prometheus" || dsCfg.Datasources[0].URL != "http://prometheus:9090" {
		t.Errorf("grafana data sources %+v, want the prometheus service", dsCfg.Datasources)
	}
	var dbCfg struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	readYAML(filepath.Join(prov, "dashboards", "herald.yaml"), &dbCfg)
	if len(dbCfg.Providers) != 1 {
		t.Fatalf("dashboard providers %+v, want 1", dbCfg.Providers)
	}
	dir, ok := gm[dbCfg.Providers[0].Options.Path]
	if !ok {
		t.Fatalf("the dashboards path %s is not mounted", dbCfg.Providers[0].Options.Path)
	}
	if _, err := os.Stat(filepath.Join(dir, "herald.json")); err != nil {
		t.Errorf("the mounted dashboards folder has no herald.json: %v", err)
	}
}

// deployComposeAdminAddr is the admin address the Compose workers listen
// on: the example config's, as the workers load it.
func deployComposeAdminAddr(t *testing.T) string {
	t.Helper()
	var cfg struct {
		Admin struct {
			Addr string `yaml:"addr"`
		} `yaml:"admin"`
	}
	readDoc := deployYAMLDocs(t, filepath.Join(deployDir, "herald.example.yaml"))
	if err := readDoc[0].Decode(&cfg); err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(cfg.Admin.Addr, ":") {
		return "0.0.0.0" + cfg.Admin.Addr
	}
	return cfg.Admin.Addr
}

// The PrometheusRule carries exactly the rules of prometheus/alerts.yaml,
// which TestDeployAlertsUseRealMetrics checks.
func TestDeployPrometheusRuleIsAlerts(t *testing.T) {
	var alerts struct {
		Groups any `yaml:"groups"`
	}
	if err := deployYAMLDocs(t, filepath.Join(deployDir, "prometheus", "alerts.yaml"))[0].Decode(&alerts); err != nil {
		t.Fatal(err)
	}
	var found int
	for _, doc := range deployYAMLDocs(t, filepath.Join(deployDir, "kubernetes", "prometheusrule.yaml")) {
		var pr struct {
			APIVersion string `yaml:"apiVersion"`
			Kind       string `yaml:"kind"`
			Spec       struct {
				Groups any `yaml:"groups"`
			} `yaml:"spec"`
		}
		if err := doc.Decode(&pr); err != nil {
			t.Fatal(err)
		}
		if pr.Kind != "PrometheusRule" || pr.APIVersion != "monitoring.coreos.com/v1" {
			continue
		}
		found++
		if !reflect.DeepEqual(pr.Spec.Groups, alerts.Groups) {
			t.Error("prometheusrule.yaml's groups differ from prometheus/alerts.yaml: copy them over, indented under spec")
		}
	}
	if found != 1 {
		t.Errorf("found %d PrometheusRules, want 1", found)
	}
}

// The ServiceMonitor selects the worker Service and scrapes its admin port;
// the KEDA ScaledObject scales the worker Deployment on a query of real
// metrics.
func TestDeployKubernetesMonitoring(t *testing.T) {
	metrics, literals := deployWorkerMetrics(t)
	known := deployKnownLabelValues(literals)
	type object struct {
		Kind     string `yaml:"kind"`
		Metadata struct {
			Name   string            `yaml:"name"`
			Labels map[string]string `yaml:"labels"`
		} `yaml:"metadata"`
		Spec yaml.Node `yaml:"spec"`
	}
	objects := map[string][]object{}
	paths, _ := filepath.Glob(filepath.Join(deployDir, "kubernetes", "*.yaml"))
	for _, p := range paths {
		for _, doc := range deployYAMLDocs(t, p) {
			var o object
			if err := doc.Decode(&o); err != nil {
				t.Fatalf("%s: %v", p, err)
			}
			objects[o.Kind] = append(objects[o.Kind], o)
		}
	}
	one := func(kind string) object {
		t.Helper()
		if len(objects[kind]) != 1 {
			t.Fatalf("%d %s objects in deploy/kubernetes, want 1", len(objects[kind]), kind)
		}
		return objects[kind][0]
	}

	svc := one("Service")
	var svcSpec struct {
		Ports []struct {
			Name string `yaml:"name"`
		} `yaml:"ports"`
	}
	if err := svc.Spec.Decode(&svcSpec); err != nil {
		t.Fatal(err)
	}
	sm := one("ServiceMonitor")
	var smSpec struct {
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Endpoints []struct {
			Port string `yaml:"port"`
			Path string `yaml:"path"`
		} `yaml:"endpoints"`
	}
	if err := sm.Spec.Decode(&smSpec); err != nil {
		t.Fatal(err)
	}
	if len(smSpec.Selector.MatchLabels) == 0 {
		t.Error("the ServiceMonitor selects every Service")
	}
	for k, v := range smSpec.Selector.MatchLabels {
		if svc.Metadata.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, which Service %s does not carry", k, v, svc.Metadata.Name)
		}
	}
	if len(smSpec.Endpoints) != 1 || smSpec.Endpoints[0].Path != "/metrics" ||
		!slices.ContainsFunc(svcSpec.Ports, func(p struct {
			Name string `yaml:"name"`
		}) bool {
			return p.Name == smSpec.Endpoints[0].Port
		}) {
		t.Errorf("ServiceMonitor endpoints %+v, want /metrics on a named port of the Service %+v", smSpec.Endpoints, svcSpec.Ports)
	}
	// The rules and the dashboard filter on job="herald-worker", which
	// the Prometheus Operator takes from the Service's name.
	if svc.Metadata.Name != "herald-worker" {
		t.Errorf("Service %s: the job label would not be herald-worker", svc.Metadata.Name)
	}

	so := one("ScaledObject")
	var soSpec struct {
		ScaleTargetRef struct {
			Kind string `yaml:"kind"`
			Name string `yaml:"name"`
		} `yaml:"scaleTargetRef"`
		MinReplicaCount int `yaml:"minReplicaCount"`
		MaxReplicaCount int `yaml:"maxReplicaCount"`
		Triggers        []struct {
			Type     string            `yaml:"type"`
			Metadata map[string]string `yaml:"metadata"`
		} `yaml:"triggers"`
	}
	if err := so.Spec.Decode(&soSpec); err != nil {
		t.Fatal(err)
	}
	dep := one("Deployment")
	if soSpec.ScaleTargetRef.Kind != "Deployment" || soSpec.ScaleTargetRef.Name != dep.Metadata.Name {
		t.Errorf("ScaledObject targets %+v, want Deployment %s", soSpec.ScaleTargetRef, dep.Metadata.Name)
	}
	if soSpec.MinReplicaCount < 1 || soSpec.MaxReplicaCount < soSpec.MinReplicaCount {
		t.Errorf("replicas %d..%d: want 1 <= min <= max (0 would stop every worker, and scheduled jobs with them)", soSpec.MinReplicaCount, soSpec.MaxReplicaCount)
	}
	if len(soSpec.Triggers) != 1 || soSpec.Triggers[0].Type != "prometheus" {
		t.Fatalf("triggers %+v, want one prometheus trigger", soSpec.Triggers)
	}
	md := soSpec.Triggers[0].Metadata
	if th, err := strconv.ParseFloat(md["threshold"], 64); err != nil || th <= 0 {
		t.Errorf("threshold %q, want a positive number", md["threshold"])
	}
	if md["serverAddress"] == "" {
		t.Error("no serverAddress")
	}
	_, used := deployCheckPromQL(t, "ScaledObject query", md["query"], metrics, known)
	if !slices.Contains(used, "herald_queue_tasks") {
		t.Errorf("the ScaledObject query %q does not read queue depth (herald_queue_tasks)", md["query"])
	}
	// Every replica reports the same shared queues: a plain sum would
	// count each queue once per replica and scale on a phantom backlog.
	if !regexp.MustCompile(`max by \(queue\) \(herald_queue_tasks`).MatchString(md["query"]) {
		t.Errorf("the ScaledObject query %q must take each queue once (max by (queue)) before summing", md["query"])
	}
	// KEDA makes its own HPA: the kustomization must not apply both.
	kust, err := os.ReadFile(filepath.Join(deployDir, "kubernetes", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var k struct {
		Resources []string `yaml:"resources"`
	}
	if err := yaml.Unmarshal(kust, &k); err != nil {
		t.Fatal(err)
	}
	if slices.Contains(k.Resources, "hpa.yaml") && slices.Contains(k.Resources, "keda-scaledobject.yaml") {
		t.Error("kustomization applies both hpa.yaml and the KEDA ScaledObject, which makes an HPA of its own")
	}
}
