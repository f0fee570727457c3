package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"io"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

// FuzzEnqueueArgs drives the enqueue command with any arguments (separated
// by NUL in one string), any environment zone and any payload, as a dry
// run: no Redis, no files. Whatever comes in, the command exits 0 with JSON
// naming tasks that parse and validate, or 2 with one line on stderr; it
// never panics and never fails as if at run time.
func FuzzEnqueueArgs(f *testing.F) {
	const push = `{"targets":["alice","bob"],"pushMessage":{"title":"Parcel","content":"Shipped","ext":{"n":12345678901234567890}}}`
	f.Add("easemob:push.single\x00--key\x00k1\x00--max-retry\x003", "", push)
	f.Add("easemob:push.single\x00--max-retry\x002147483648", "", push)
	f.Add("easemob:push.task\x00--zone\x00Asia/Shanghai\x00--in\x002h", "+00:00",
		`{"startDate":"2030-01-01 12:00:00","pushMessage":{"title":"t","content":"c"}}`)
	f.Add("easemob:push.sync\x00--account\x00shop\x00--timeout\x0010s", "", `{"target":"..","pushMessage":{"title":"t","content":"c"}}`)
	f.Add("dingtalk:work_notice.send\x00--at\x002030-01-02T09:00:00+08:00", "",
		`{"userid_list":"a,b","dept_id_list":"1","msg":{"msgtype":"text","text":{"content":"hi"}}}`)
	f.Add("enos:notice.produce\x00--retention\x001h\x00--\x00x", "Mars/Base", `{"orgId":"o?1","messages":[{"messageId":"m"}]}`)
	f.Add("feishu:execute_send\x00-f\x00/etc/passwd", "", `{}`)
	f.Fuzz(func(t *testing.T, args, zone, payload string) {
		argv := []string{"enqueue", "--dry-run"}
		if args != "" {
			argv = append(argv, strings.Split(args, "\x00")...)
		}
		var out bytes.Buffer
		env := &commandEnv{
			stdin: strings.NewReader(payload), stdout: &out,
			getenv:   func(k string) string { return map[string]string{envZone: zone}[k] },
			openFile: func(string) (io.ReadCloser, error) { return nil, errors.New("no files in the fuzz test") },
		}
		err := enqueue(t.Context(), env, argv[1:])
		switch {
		case err == nil:
			var res struct {
				DryRun bool `json:"dry_run"`
				Tasks  []struct {
					Type    string          `json:"type"`
					Payload json.RawMessage `json:"payload"`
				} `json:"tasks"`
			}
			if jerr := json.Unmarshal(out.Bytes(), &res); jerr != nil || !res.DryRun || len(res.Tasks) == 0 {
				t.Fatalf("exit 0 with output %q (%v)", out.String(), jerr)
			}
			for _, task := range res.Tasks {
				if _, perr := tasks.Parse(task.Type, task.Payload); perr != nil {
					t.Fatalf("dry run printed a payload that does not parse: %v", perr)
				}
			}
		case errors.Is(err, flag.ErrHelp):
		default:
			if code := exitCode(err); code != exitInput {
				t.Fatalf("%v: exit %d, want %d (bad input)", err, code, exitInput)
			}
			var line bytes.Buffer
			fail(&line, err)
			if strings.Count(line.String(), "\n") != 1 {
				t.Fatalf("error is not one line: %q", line.String())
			}
		}
	})
}
