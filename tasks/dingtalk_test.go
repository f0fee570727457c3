package tasks_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/herald-dispatch/herald/tasks"
)

func textMsg(content string) tasks.DingTalkMsg {
	b, _ := json.Marshal(map[string]string{"content": content})
	return tasks.DingTalkMsg{MsgType: "text", Text: b}
}

func joinIDs(prefix string, n int) string {
	parts := make([]string, n)
	for i := range parts {
		parts[i] = prefix + strconv.Itoa(i+1)
	}
	return strings.Join(parts, ",")
}

func TestDingTalkSendRecipients(t *testing.T) {
	cases := []struct {
		name        string
		job         tasks.DingTalkSend
		field, rule string
	}{
		{"users", tasks.DingTalkSend{UseridList: "u1,u2"}, "", ""},
		{"departments", tasks.DingTalkSend{DeptIDList: "1,42"}, "", ""},
		{"users and departments", tasks.DingTalkSend{UseridList: "u1", DeptIDList: "42"}, "", ""},
		{"everyone", tasks.DingTalkSend{ToAllUser: true}, "", ""},
		{"nobody", tasks.DingTalkSend{}, "userid_list", "needs userid_list, dept_id_list or to_all_user"},
		{"everyone and users", tasks.DingTalkSend{ToAllUser: true, UseridList: "u1"}, "to_all_user", "excludes userid_list and dept_id_list"},
		{"everyone and departments", tasks.DingTalkSend{ToAllUser: true, DeptIDList: "1"}, "to_all_user", "excludes"},
		{"100 users", tasks.DingTalkSend{UseridList: joinIDs("u", 100)}, "", ""},
		{"101 users in one call", tasks.DingTalkSend{UseridList: joinIDs("u", 101)}, "userid_list", "101 user ids, more than 100 in one call"},
		{"space after a comma", tasks.DingTalkSend{UseridList: "u1, u2"}, "userid_list[1]", "must not contain spaces"},
		{"newline in an id", tasks.DingTalkSend{UseridList: "u1,u\n2"}, "userid_list[1]", "control characters (U+000A)"},
		{"NUL in an id", tasks.DingTalkSend{UseridList: "u\x001"}, "userid_list[0]", "control characters (U+0000)"},
		{"duplicate user", tasks.DingTalkSend{UseridList: "u1,u2,u1"}, "userid_list[2]", "duplicate of userid_list[0]"},
		{"empty user id", tasks.DingTalkSend{UseridList: "u1,u2,,u4"}, "userid_list[2]", "empty user id"},
		{"trailing comma", tasks.DingTalkSend{UseridList: "u1,"}, "userid_list[1]", "empty user id"},
		{"20 departments", tasks.DingTalkSend{DeptIDList: joinIDs("", 20)}, "", ""},
		{"21 departments", tasks.DingTalkSend{DeptIDList: joinIDs("", 21)}, "dept_id_list", "21 department ids, more than 20"},
		{"department not numeric", tasks.DingTalkSend{DeptIDList: "1,sales"}, "dept_id_list[1]", "numeric department id"},
		{"empty department", tasks.DingTalkSend{DeptIDList: ",1"}, "dept_id_list[0]", "numeric department id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := tc.job
			job.Msg = textMsg("hello")
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeDingTalkSend, tc.field, tc.rule)
		})
	}
}

func TestDingTalkSendMsg(t *testing.T) {
	raw := func(s string) json.RawMessage { return json.RawMessage(s) }
	cases := []struct {
		name        string
		msg         tasks.DingTalkMsg
		field, rule string
	}{
		{"text", textMsg("hello"), "", ""},
		{"image", tasks.DingTalkMsg{MsgType: "image", Image: raw(`{"media_id":"@lADOADmaWMzazQKA"}`)}, "", ""},
		{"voice", tasks.DingTalkMsg{MsgType: "voice", Voice: raw(`{"media_id":"@v","duration":"10"}`)}, "", ""},
		{"file", tasks.DingTalkMsg{MsgType: "file", File: raw(`{"media_id":"@f"}`)}, "", ""},
		{"link", tasks.DingTalkMsg{MsgType: "link", Link: raw(`{"messageUrl":"https://x","picUrl":"@p","title":"t","text":"x"}`)}, "", ""},
		{"oa", tasks.DingTalkMsg{MsgType: "oa", OA: raw(`{"message_url":"https://dingtalk.io","head":{"bgcolor":"FFFF6A00","text":"Test"},"body":{"title":"b"}}`)}, "", ""},
		{"markdown", tasks.DingTalkMsg{MsgType: "markdown", Markdown: raw(`{"title":"t","text":"# hi"}`)}, "", ""},
		{"action_card", tasks.DingTalkMsg{MsgType: "action_card", ActionCard: raw(`{"title":"t","markdown":"m","single_title":"go","single_url":"https://x"}`)}, "", ""},
		{"msgtype missing", tasks.DingTalkMsg{Text: raw(`{"content":"x"}`)}, "msg.msgtype", "required"},
		{"msgtype unknown", tasks.DingTalkMsg{MsgType: "sms", Text: raw(`{"content":"x"}`)}, "msg.msgtype", `"sms" is not one of`},
		{"block missing", tasks.DingTalkMsg{MsgType: "markdown", Text: raw(`{"content":"x"}`)}, "msg.markdown", "required by msgtype markdown"},
		{"block not an object", tasks.DingTalkMsg{MsgType: "text", Text: raw(`"hello"`)}, "msg.text", "JSON object"},
		{"block broken", tasks.DingTalkMsg{MsgType: "text", Text: raw(`{"content":`)}, "msg.text", "JSON object"},
		{"text content missing", tasks.DingTalkMsg{MsgType: "text", Text: raw(`{}`)}, "msg.text.content", "required"},
		{"text content empty", textMsg(""), "msg.text.content", "required"},
		{"text content null", tasks.DingTalkMsg{MsgType: "text", Text: raw(`{"content":null}`)}, "msg.text.content", "required"},
		{"image media_id missing", tasks.DingTalkMsg{MsgType: "image", Image: raw(`{}`)}, "msg.image.media_id", "required"},
		{"voice duration missing", tasks.DingTalkMsg{MsgType: "voice", Voice: raw(`{"media_id":"@v"}`)}, "msg.voice.duration", "required"},
		{"file media_id missing", tasks.DingTalkMsg{MsgType: "file", File: raw(`{"media_id":""}`)}, "msg.file.media_id", "required"},
		{"link picUrl missing", tasks.DingTalkMsg{MsgType: "link", Link: raw(`{"messageUrl":"https://x","title":"t","text":"x"}`)}, "msg.link.picUrl", "required"},
		{"oa body missing", tasks.DingTalkMsg{MsgType: "oa", OA: raw(`{"message_url":"https://x","head":{"text":"t"}}`)}, "msg.oa.body", "required"},
		{"markdown text missing", tasks.DingTalkMsg{MsgType: "markdown", Markdown: raw(`{"title":"t"}`)}, "msg.markdown.text", "required"},
		{"action_card markdown missing", tasks.DingTalkMsg{MsgType: "action_card", ActionCard: raw(`{"title":"t"}`)}, "msg.action_card.markdown", "required"},
		// {"msgtype":"text","text":{"content":"…"}} is 40 bytes around the content.
		{"msg 2048 bytes", textMsg(strings.Repeat("a", 2048-40)), "", ""},
		{"msg 2049 bytes", textMsg(strings.Repeat("a", 2049-40)), "msg", "2049 bytes of JSON, more than 2048"},
		{"msg size counts bytes", textMsg(strings.Repeat("钉", 700)), "msg", "more than 2048"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			job := &tasks.DingTalkSend{UseridList: "u1", Msg: tc.msg}
			checkInvalid(t, job.Validate(tasks.Env{}), tasks.TypeDingTalkSend, tc.field, tc.rule)
		})
	}
}

func TestDingTalkTaskIDs(t *testing.T) {
	cases := []struct {
		name        string
		job         tasks.Job
		field, rule string
	}{
		{"progress", &tasks.DingTalkProgress{TaskID: 456}, "", ""},
		{"progress zero", &tasks.DingTalkProgress{}, "task_id", "positive task id"},
		{"progress negative", &tasks.DingTalkProgress{TaskID: -1}, "task_id", "positive task id"},
		{"result", &tasks.DingTalkResult{TaskID: 456}, "", ""},
		{"result zero", &tasks.DingTalkResult{}, "task_id", "positive task id"},
		{"recall", &tasks.DingTalkRecall{MsgTaskID: 2000}, "", ""},
		{"recall zero", &tasks.DingTalkRecall{}, "msg_task_id", "positive task id"},
		{"status bar", &tasks.DingTalkStatusBar{TaskID: 313382528774, StatusValue: "Accepted", StatusBg: "0xFF78C06E"}, "", ""},
		{"status bar lower-case hex", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "Declined", StatusBg: "0xfff65e5e"}, "", ""},
		{"status bar without colour", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "Done"}, "", ""},
		{"status bar zero task", &tasks.DingTalkStatusBar{StatusValue: "Done"}, "task_id", "positive task id"},
		{"status bar no value", &tasks.DingTalkStatusBar{TaskID: 1}, "status_value", "required"},
		{"status bar colour without 0x", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "x", StatusBg: "FF78C06E"}, "status_bg", "0x and 8 hex digits"},
		{"status bar colour 6 digits", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "x", StatusBg: "0x78C06E"}, "status_bg", "0x and 8 hex digits"},
		{"status bar colour not hex", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "x", StatusBg: "0xFF78C06G"}, "status_bg", "0x and 8 hex digits"},
		{"status bar colour 0X", &tasks.DingTalkStatusBar{TaskID: 1, StatusValue: "x", StatusBg: "0XFF78C06E"}, "status_bg", "0x and 8 hex digits"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkInvalid(t, tc.job.Validate(tasks.Env{}), tc.job.Type(), tc.field, tc.rule)
		})
	}
}
