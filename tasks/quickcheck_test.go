package tasks

import (
	"reflect"
	"testing"
)

// FuzzQuickDecode holds Parse's fast path to the strict decoder: whatever
// quickDecode accepts, decodeStrict accepts too, into the same job. (What
// the fast path refuses goes to decodeStrict, so only acceptance matters.)
func FuzzQuickDecode(f *testing.F) {
	for _, s := range []string{
		`{"targets":["u1","u2"],"strategy":1,"pushMessage":{"title":"t","content":"c","ext":{"a":1,"a":2}}}`,
		`{"targets":["u1"],"pushMessage":{"Title":"t","content":"c"}}`,
		`{"targets":["u1"],"pushMessage":{"title":"t","content":"c"}} x`,
		`{"targets":["u\ud800"],"pushMessage":{"title":"t","content":"c"}}`,
		`{"targe\u0074s":["u1"],"targets":["u2"]}`,
		"{\"targets\":[\"\xff\"]}",
		`{"userid_list":"a","msg":{"msgtype":"text","text":{"content":"x","content":"y"}}}`,
		`{"start_date":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`,
	} {
		for i := range Types() {
			f.Add(uint8(i), []byte(s))
		}
	}
	types := Types()
	f.Fuzz(func(t *testing.T, ti uint8, payload []byte) {
		typ := types[int(ti)%len(types)]
		fast, _ := newJob(typ)
		if !quickDecode(payload, fast) {
			return
		}
		strict, _ := newJob(typ)
		if err := decodeStrict(typ, payload, strict); err != nil {
			t.Fatalf("fast path accepted %q, the strict decoder says %v", payload, err)
		}
		if !reflect.DeepEqual(fast, strict) {
			t.Fatalf("fast path decoded %q as %+v, the strict decoder as %+v", payload, fast, strict)
		}
	})
}
