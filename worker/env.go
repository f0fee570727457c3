package worker

import (
	"fmt"
	"io"
	"os"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every variable the worker reads.
const envPrefix = "HERALD"

// maxSecretFile bounds a _FILE secret: a password or key is a few hundred
// bytes, and a path mistyped as /dev/zero must not fill memory.
const maxSecretFile = 64 << 10

// otherHeraldEnv are HERALD_ variables that are not config keys but belong
// to Herald's own commands, so they may share an environment (Compose's
// herald.env, a Kubernetes ConfigMap) with the worker.
func otherHeraldEnv(name string) bool {
	switch name {
	case "HERALD_CONFIG", // the worker's -config default
		"HERALD_SIM_CLIENT_SECRET": // cmd/simulator's client secret
		return true
	}
	return false
}

// applyEnv lays HERALD_* variables over cfg. A variable's name is the YAML
// path in upper case joined by underscores: redis.url is HERALD_REDIS_URL,
// easemob.default.client_secret is HERALD_EASEMOB_DEFAULT_CLIENT_SECRET.
// Fields marked secret also read NAME_FILE, a file holding the value. Map
// entries (accounts, queue weights) may be created from the environment
// alone.
//
// A HERALD_ variable that no key reads is an error, not a warning: the
// YAML file already refuses unknown keys, and a misspelt
// HERALD_CONCURENCY=5 or HERALD_EASEMOB_DEFAULT_CLIENT_SECRT_FILE would
// otherwise leave the default (or no secret) in place while the operator
// believes it set. A warning scrolls past in a container's logs; an error
// stops the rollout at `worker -check` or at the first replica. The names
// accepted are those the overlay below actually reads, so they follow the
// Config struct: a provider section added to Config is covered with no
// list to update. The price is that unrelated software may not use the
// HERALD_ prefix in the worker's environment (Herald's own commands'
// variables are allowed, see otherHeraldEnv).
func applyEnv(cfg *Config, environ []string) error {
	e := &envVars{vars: map[string]string{}, read: map[string]bool{}}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, envPrefix+"_") {
			e.vars[k] = v
		}
	}
	root := reflect.ValueOf(cfg).Elem()
	if err := e.overlay(root, envPrefix, ""); err != nil {
		return err
	}
	return e.unread(root)
}

// envVars is the HERALD_ environment and which of its variables the
// overlay has read.
type envVars struct {
	vars map[string]string
	read map[string]bool
}

func (e *envVars) lookup(name string) (string, bool) {
	v, ok := e.vars[name]
	if ok {
		e.read[name] = true
	}
	return v, ok
}

// unread returns an error naming the first variable nothing read, with the
// known name closest to it.
func (e *envVars) unread(root reflect.Value) error {
	var names []string
	for k := range e.vars {
		if !e.read[k] && !otherHeraldEnv(k) {
			names = append(names, k)
		}
	}
	if len(names) == 0 {
		return nil
	}
	sort.Strings(names)
	name := names[0]
	rule := "unknown variable: no config key reads it"
	known := knownEnvNames(root, envPrefix)
	if base, ok := strings.CutSuffix(name, "_FILE"); ok && slices.Contains(known, base) {
		rule += "; only secrets have a _FILE form, give " + base + " itself"
	} else if near := closest(name, known); near != "" {
		rule += "; did you mean " + near + "?"
	}
	if len(names) > 1 {
		rule += fmt.Sprintf(" (and %d more: %s)", len(names)-1, strings.Join(names[1:], ", "))
	}
	return &ConfigError{Key: name, Rule: rule}
}

func (e *envVars) overlay(v reflect.Value, name, key string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := yamlName(f)
		if tag == "" {
			continue
		}
		fname, fkey := name+"_"+strings.ToUpper(tag), join(key, tag)
		fv := v.Field(i)
		var err error
		switch fv.Kind() {
		case reflect.Struct:
			err = e.overlay(fv, fname, fkey)
		case reflect.Map:
			err = e.overlayMap(fv, fname, fkey)
		default:
			err = e.set(fv, fname, f.Tag.Get("secret") == "true")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// overlayMap handles map[string]struct (accounts) and map[string]scalar
// (queue weights). Keys come from the map and from variables under name_.
func (e *envVars) overlayMap(m reflect.Value, name, key string) error {
	if m.IsNil() {
		m.Set(reflect.MakeMap(m.Type()))
	}
	elem := m.Type().Elem()
	keys := map[string]bool{}
	for _, k := range m.MapKeys() {
		keys[k.String()] = true
	}
	prefix := name + "_"
	var suffixes []string
	if elem.Kind() == reflect.Struct {
		suffixes = leafNames(elem, "")
	}
	for envName := range e.vars {
		rest, ok := strings.CutPrefix(envName, prefix)
		if !ok || rest == "" {
			continue
		}
		if elem.Kind() != reflect.Struct {
			keys[strings.ToLower(rest)] = true
			continue
		}
		for _, s := range suffixes {
			if acct, ok := strings.CutSuffix(rest, "_"+s); ok && acct != "" {
				keys[strings.ToLower(acct)] = true
			}
		}
	}
	for k := range keys {
		ev := reflect.New(elem).Elem()
		if cur := m.MapIndex(reflect.ValueOf(k)); cur.IsValid() {
			ev.Set(cur)
		}
		kname := prefix + strings.ToUpper(k)
		var err error
		if elem.Kind() == reflect.Struct {
			err = e.overlay(ev, kname, join(key, k))
		} else {
			err = e.set(ev, kname, false)
		}
		if err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(k), ev)
	}
	return nil
}

// leafNames lists the variable suffixes a struct answers to, FILE forms
// included.
func leafNames(t reflect.Type, prefix string) []string {
	var out []string
	for i := range t.NumField() {
		f := t.Field(i)
		tag := yamlName(f)
		if tag == "" {
			continue
		}
		n := prefix + strings.ToUpper(tag)
		if f.Type.Kind() == reflect.Struct {
			out = append(out, leafNames(f.Type, n+"_")...)
			continue
		}
		out = append(out, n)
		if f.Tag.Get("secret") == "true" {
			out = append(out, n+"_FILE")
		}
	}
	return out
}

// knownEnvNames lists the variables v answers to, for suggestions: map
// entries under the keys v holds, or <NAME> for an empty map.
func knownEnvNames(v reflect.Value, name string) []string {
	var out []string
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag := yamlName(f)
		if tag == "" {
			continue
		}
		n := name + "_" + strings.ToUpper(tag)
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct:
			out = append(out, knownEnvNames(fv, n)...)
		case fv.Kind() == reflect.Map && fv.Type().Elem().Kind() == reflect.Struct:
			keys := fv.MapKeys()
			if len(keys) == 0 {
				keys = []reflect.Value{reflect.ValueOf("<NAME>")}
			}
			for _, k := range keys {
				out = append(out, knownEnvNames(reflect.New(fv.Type().Elem()).Elem(), n+"_"+strings.ToUpper(k.String()))...)
			}
		case fv.Kind() == reflect.Map:
			out = append(out, n+"_<KEY>")
		default:
			out = append(out, n)
			if f.Tag.Get("secret") == "true" {
				out = append(out, n+"_FILE")
			}
		}
	}
	return out
}

// closest returns the candidate nearest to name by edit distance, or ""
// when none is near enough to be a plausible typo.
func closest(name string, candidates []string) string {
	best, bestD := "", len(name)/4+2
	for _, c := range candidates {
		if d := editDistance(name, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// readFileMax reads a file named in the config, refusing one larger than
// max: a path mistyped as /dev/zero or a log file must not fill memory.
func readFileMax(path string, max int64) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > max {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, max)
	}
	return b, nil
}

func (e *envVars) set(v reflect.Value, name string, secret bool) error {
	val, ok := e.lookup(name)
	if secret {
		if path, fok := e.lookup(name + "_FILE"); fok {
			if ok {
				return &ConfigError{Key: name, Rule: "set either " + name + " or " + name + "_FILE, not both"}
			}
			b, err := readFileMax(path, maxSecretFile)
			if err != nil {
				return &ConfigError{Key: name + "_FILE", Rule: err.Error()}
			}
			val, ok = strings.TrimRight(string(b), "\r\n"), true
		}
	}
	if !ok {
		return nil
	}
	bad := func(want string) error {
		if secret {
			return &ConfigError{Key: name, Rule: "must be " + want}
		}
		return &ConfigError{Key: name, Rule: fmt.Sprintf("%q must be %s", val, want)}
	}
	switch {
	case v.Type() == reflect.TypeFor[Duration]():
		d, err := time.ParseDuration(val)
		if err != nil {
			return bad("a duration like 500ms, 30s or 5m")
		}
		v.SetInt(int64(d))
	case v.Kind() == reflect.String:
		v.SetString(val)
	case v.Kind() == reflect.Int:
		n, err := strconv.Atoi(val)
		if err != nil {
			return bad("an integer")
		}
		v.SetInt(int64(n))
	case v.Kind() == reflect.Bool:
		b, err := strconv.ParseBool(val)
		if err != nil {
			return bad("true or false")
		}
		v.SetBool(b)
	case v.Kind() == reflect.Float64:
		f, err := strconv.ParseFloat(val, 64)
		if err != nil {
			return bad("a number")
		}
		v.SetFloat(f)
	case v.Kind() == reflect.Slice && v.Type().Elem().Kind() == reflect.String:
		var parts []string
		for _, p := range strings.Split(val, ",") {
			if p = strings.TrimSpace(p); p != "" {
				parts = append(parts, p)
			}
		}
		v.Set(reflect.ValueOf(parts))
	default:
		return &ConfigError{Key: name, Rule: "cannot be set from the environment"}
	}
	return nil
}

// yamlName is a field's YAML key, "" for a field YAML skips.
func yamlName(f reflect.StructField) string {
	tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
	if tag == "-" {
		return ""
	}
	return tag
}

func join(key, part string) string {
	if key == "" {
		return part
	}
	return key + "." + part
}
