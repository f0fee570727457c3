package worker

import (
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// envPrefix starts every variable the worker reads.
const envPrefix = "HERALD"

// applyEnv lays HERALD_* variables over cfg. A variable's name is the YAML
// path in upper case joined by underscores: redis.url is HERALD_REDIS_URL,
// easemob.default.client_secret is HERALD_EASEMOB_DEFAULT_CLIENT_SECRET.
// Fields marked secret also read NAME_FILE, a file holding the value. Map
// entries (accounts, queue weights) may be created from the environment
// alone.
func applyEnv(cfg *Config, environ []string) error {
	env := map[string]string{}
	for _, kv := range environ {
		k, v, ok := strings.Cut(kv, "=")
		if ok && strings.HasPrefix(k, envPrefix+"_") {
			env[k] = v
		}
	}
	return overlay(reflect.ValueOf(cfg).Elem(), envPrefix, "", env)
}

func overlay(v reflect.Value, name, key string, env map[string]string) error {
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
			continue
		}
		fname, fkey := name+"_"+strings.ToUpper(tag), join(key, tag)
		fv := v.Field(i)
		switch {
		case fv.Kind() == reflect.Struct:
			if err := overlay(fv, fname, fkey, env); err != nil {
				return err
			}
		case fv.Kind() == reflect.Map:
			if err := overlayMap(fv, fname, fkey, env); err != nil {
				return err
			}
		default:
			if err := setFromEnv(fv, fname, f.Tag.Get("secret") == "true", env); err != nil {
				return err
			}
		}
	}
	return nil
}

// overlayMap handles map[string]struct (accounts) and map[string]scalar
// (queue weights). Keys come from the map and from variables under name_.
func overlayMap(m reflect.Value, name, key string, env map[string]string) error {
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
	for envName := range env {
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
			err = overlay(ev, kname, join(key, k), env)
		} else {
			err = setFromEnv(ev, kname, false, env)
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
		tag, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if tag == "" || tag == "-" {
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

func setFromEnv(v reflect.Value, name string, secret bool, env map[string]string) error {
	val, ok := env[name]
	if secret {
		if path, fok := env[name+"_FILE"]; fok {
			if ok {
				return &ConfigError{Key: name, Rule: "set either " + name + " or " + name + "_FILE, not both"}
			}
			b, err := os.ReadFile(path)
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
	case v.Type() == reflect.TypeOf(Duration(0)):
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

func join(key, part string) string {
	if key == "" {
		return part
	}
	return key + "." + part
}
