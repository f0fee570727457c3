package tasks

import (
	"strconv"
	"time"
)

// feishuSendAtDigits is the length of a millisecond Unix time from
// 2001-09-09 to 2286-11-20: every send time Feishu can mean.
const feishuSendAtDigits = 13

// FeishuExecuteSend starts sending an approved helpdesk notification
// (POST /open-apis/helpdesk/v1/notifications/{notification_id}/execute_send).
// Feishu's scheduler sends it at SendAt. The call needs a user access token,
// is limited to 10 calls a minute per app and tenant, and works only after
// the notification was created and its approval submitted.
type FeishuExecuteSend struct {
	// NotificationID is the id create returned, a numeric string such as
	// "6985032626234982420". It goes in the URL path, not the body.
	NotificationID string `json:"notification_id"`
	// SendAt is when Feishu sends, as a Unix time in milliseconds written in
	// decimal: "1624326025000". Use FeishuSendAt to build it.
	//
	// A time in the past is accepted: Feishu then sends at once. Herald sets
	// no upper bound, as Feishu documents none; only the format is checked.
	SendAt string `json:"send_at"`
}

func (*FeishuExecuteSend) Type() string { return TypeFeishuExecuteSend }

// FeishuSendAt formats t as a send_at value, Unix milliseconds in decimal.
func FeishuSendAt(t time.Time) string {
	return strconv.FormatInt(t.UnixMilli(), 10)
}

// Validate checks that the notification id is numeric and send_at is a
// 13-digit millisecond time. A 10-digit value is a time in seconds, which
// Feishu would read as a date in 1970 and send at once: it is rejected.
func (j *FeishuExecuteSend) Validate(Env) error {
	const job = TypeFeishuExecuteSend
	switch {
	case j.NotificationID == "":
		return invalid(job, "notification_id", "required")
	case !isDigits(j.NotificationID):
		return invalid(job, "notification_id", "must be digits only")
	}
	switch {
	case j.SendAt == "":
		return invalid(job, "send_at", "required")
	case !isDigits(j.SendAt):
		return invalid(job, "send_at", "must be a Unix time in milliseconds, decimal digits only")
	case len(j.SendAt) == 10:
		return invalid(job, "send_at", "looks like Unix seconds; must be milliseconds (13 digits)")
	case len(j.SendAt) != feishuSendAtDigits || j.SendAt[0] == '0':
		return invalid(job, "send_at", "must be a Unix time in milliseconds (13 digits)")
	}
	return nil
}
