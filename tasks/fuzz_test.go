package tasks_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/tasks"
)

// FuzzParse feeds any bytes to the decoder of every job type, then checks
// what it accepts: validation answers with a *ValidationError or nil, never
// a panic; a decoded job encodes to a payload that decodes to the same
// bytes again (what the worker reads is what the producer wrote); and every
// task Check makes of it is one valid provider call.
func FuzzParse(f *testing.F) {
	for _, job := range allJobs() {
		b, err := json.Marshal(job)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(typeIndex(job.Type()), b)
	}
	for _, tc := range opaquePayloads {
		f.Add(typeIndex(tc.typ), []byte(tc.payload))
	}
	f.Add(typeIndex(tasks.TypeEasemobPushTask), []byte(`{"start_date":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`))
	f.Add(typeIndex(tasks.TypeEasemobPushSync), []byte(`{"target":"..","pushMessage":{"title":"t","content":"c","title":"d"}}`))
	f.Add(typeIndex(tasks.TypeDingTalkSend), []byte(`{"userid_list":"a, b","dept_id_list":"1","msg":{"msgtype":"text","text":{"content":"\ud800"}}}`))

	now := time.Date(2029, 12, 31, 12, 0, 0, 0, time.UTC)
	producer := tasks.NewProducer(nil, tasks.WithClock(func() time.Time { return now }))
	types := tasks.Types()
	f.Fuzz(func(t *testing.T, ti uint8, payload []byte) {
		typ := types[int(ti)%len(types)]
		job, err := tasks.Parse(typ, payload)
		var verr *tasks.ValidationError
		if err != nil {
			if !errors.As(err, &verr) || verr.Job != typ || verr.Field == "" || verr.Rule == "" {
				t.Fatalf("Parse error %v is not a *ValidationError naming the job, field and rule", err)
			}
			return
		}
		stored, err := json.Marshal(job)
		if err != nil {
			t.Fatalf("a parsed job does not encode: %v", err)
		}
		again, err := tasks.Parse(typ, stored)
		if err != nil {
			t.Fatalf("Parse(%s) of an encoded job = %v", stored, err)
		}
		if b, _ := json.Marshal(again); !bytes.Equal(b, stored) {
			t.Fatalf("encoding changed on a round trip:\n%s\n%s", stored, b)
		}
		if err := job.Validate(tasks.Env{Now: now}); err != nil && !errors.As(err, &verr) {
			t.Fatalf("Validate error %v is not a *ValidationError", err)
		}
		parts, err := producer.Check(job)
		if err != nil {
			if !errors.As(err, &verr) {
				t.Fatalf("Check error %v is not a *ValidationError", err)
			}
			return
		}
		for _, planned := range parts {
			p := planned.Job
			if err := p.Validate(tasks.Env{Now: now}); err != nil {
				t.Fatalf("Check made a part that fails Validate: %v", err)
			}
			b, _ := json.Marshal(p)
			if _, err := tasks.Parse(p.Type(), b); err != nil {
				t.Fatalf("Check made a part that does not parse: %v", err)
			}
		}
	})
}

func typeIndex(typ string) uint8 {
	for i, t := range tasks.Types() {
		if t == typ {
			return uint8(i)
		}
	}
	panic("unknown type " + typ)
}
