package tasks

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// TestShapes holds the generated shape table (shapes_gen.go) to the job
// structs as the strict decoder sees them by reflection: the same keys for
// every struct, the same nesting, and every key one encoding/json decodes
// into a field. It fails when a job's fields changed and go generate
// ./tasks/ was not run, before the fast path could wave an unknown key
// through or refuse a known one.
func TestShapes(t *testing.T) {
	for _, typ := range Types() {
		job, err := newJob(typ)
		if err != nil {
			t.Fatal(err)
		}
		id, ok := jobShape(job)
		if !ok {
			t.Errorf("%s: no shape; run go generate ./tasks/", typ)
			continue
		}
		checkShape(t, typ, reflect.TypeOf(job), id)
	}
}

// checkShape compares shape id with Go type typ, at path, recursively.
func checkShape(t *testing.T, path string, typ reflect.Type, id shapeID) {
	t.Helper()
	if int(id) >= len(shapes) {
		t.Errorf("%s: shape %d is not in the table", path, id)
		return
	}
	sh := &shapes[id]
	ft, kind := freeForm(typ), wantKind(typ)
	if sh.kind != kind {
		t.Errorf("%s (%s): shape kind %d, want %d; run go generate ./tasks/", path, typ, sh.kind, kind)
		return
	}
	switch kind {
	case kindList, kindMap:
		checkShape(t, path+"[]", ft.Elem(), sh.elem)
	case kindStruct:
		fields := jsonFields(ft)
		if len(sh.fields) != len(fields) || len(sh.fields) > 64 {
			t.Errorf("%s (%s): %d fields in the shape, %d in the struct (the fast path takes 64); run go generate ./tasks/",
				path, typ, len(sh.fields), len(fields))
		}
		for i, f := range sh.fields {
			if j, _ := sh.field([]byte(f.name)); j != i {
				t.Errorf("%s: field %q is in the shape twice", path, f.name)
			}
			fieldType, ok := fields[f.name]
			if !ok {
				t.Errorf("%s: the shape has %q, %s has no such field; run go generate ./tasks/", path, f.name, typ)
				continue
			}
			checkDecodes(t, path, ft, f.name)
			checkShape(t, joinPath(path, f.name), fieldType, f.shape)
		}
	}
}

// checkDecodes checks that encoding/json, refusing unknown fields, takes
// key as a field of struct type typ: the fast path trusts the table and
// decodes without DisallowUnknownFields.
func checkDecodes(t *testing.T, path string, typ reflect.Type, key string) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(`{` + strconv.Quote(key) + `:null}`))
	dec.DisallowUnknownFields()
	if err := dec.Decode(reflect.New(typ).Interface()); err != nil {
		t.Errorf("%s: encoding/json does not take %q as a field of %s: %v", path, key, typ, err)
	}
}

// wantKind is the kind of typ's shape: a list or map is free when its
// elements are, as they then constrain no key.
func wantKind(typ reflect.Type) shapeKind {
	ft := freeForm(typ)
	if ft == nil {
		return kindFree
	}
	switch ft.Kind() {
	case reflect.Struct:
		return kindStruct
	case reflect.Slice, reflect.Array:
		if wantKind(ft.Elem()) != kindFree {
			return kindList
		}
	case reflect.Map:
		if wantKind(ft.Elem()) != kindFree {
			return kindMap
		}
	}
	return kindFree
}

// freeForm returns the type whose keys a value's keys must match: t
// without pointers, or nil when the value is free-form (an interface, a
// type that decodes itself), as unknownField treats it.
func freeForm(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if pt := reflect.PointerTo(t); pt.Implements(jsonUnmarshaler) || pt.Implements(textUnmarshaler) || t.Kind() == reflect.Interface {
		return nil
	}
	return t
}
