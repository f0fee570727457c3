package tasks

//go:generate go run gen_shapes.go

// A shape is what a JSON value may hold when it decodes into one Go type:
// for a struct, the keys its fields answer to, each with the shape of its
// value; for a slice or map, the shape of its elements. Parse's fast path
// walks a payload beside these tables instead of asking reflect about the
// job's types on every call. They are generated from the job structs
// (go generate ./tasks/ writes shapes_gen.go) and TestShapes holds them
// to the names the strict decoder derives by reflection, so the two paths
// cannot disagree about which keys are fields.
type shape struct {
	kind shapeKind
	// fields are a struct's JSON names in declaration order, at most 64
	// (the fast path tracks the ones seen in a uint64).
	fields []shapeField
	// elem is the shape of a slice's or map's elements.
	elem shapeID
}

// A shapeID indexes shapes (shapes_gen.go).
type shapeID uint8

// shapeFree is a value no Go type constrains: opaque JSON (json.RawMessage,
// Ext), an interface, or a scalar. Its objects, however deep, need only
// distinct keys; a scalar given an object fails the decode on its own.
const shapeFree shapeID = 0

type shapeKind uint8

const (
	kindFree shapeKind = iota
	kindStruct
	kindList // a slice or an array
	kindMap
)

// A shapeField is one JSON name a struct answers to, exactly as written
// (encoding/json would also take it in another case; Parse does not).
type shapeField struct {
	name  string
	shape shapeID
}

// field returns the index of key among a struct shape's fields, and false
// when the struct has no field of that exact name.
func (s *shape) field(key []byte) (int, bool) {
	for i := range s.fields {
		if s.fields[i].name == string(key) {
			return i, true
		}
	}
	return 0, false
}
