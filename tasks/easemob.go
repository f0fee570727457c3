package tasks

import "encoding/json"

// PushMessage is Easemob's pushMessage object: the notification itself.
// Vendor blocks (apns, fcm, huawei, …) override the base fields for that
// vendor's channel and are passed through as given.
type PushMessage struct {
	Title    string          `json:"title,omitempty"`
	SubTitle string          `json:"subTitle,omitempty"`
	Content  string          `json:"content,omitempty"`
	Ext      map[string]any  `json:"ext,omitempty"`
	Config   *PushConfig     `json:"config,omitempty"`
	Easemob  json.RawMessage `json:"easemob,omitempty"`
	APNs     json.RawMessage `json:"apns,omitempty"`
	FCM      json.RawMessage `json:"fcm,omitempty"`
	FCMV1    json.RawMessage `json:"fcmV1,omitempty"`
	Huawei   json.RawMessage `json:"huawei,omitempty"`
	Honor    json.RawMessage `json:"honor,omitempty"`
	Meizu    json.RawMessage `json:"meizu,omitempty"`
	Oppo     json.RawMessage `json:"oppo,omitempty"`
	Vivo     json.RawMessage `json:"vivo,omitempty"`
	Xiaomi   json.RawMessage `json:"xiaomi,omitempty"`
}

// PushConfig is pushMessage.config.
type PushConfig struct {
	ClickAction *ClickAction `json:"clickAction,omitempty"`
	Badge       *Badge       `json:"badge,omitempty"`
}

// ClickAction is what tapping the notification does.
type ClickAction struct {
	URL      string `json:"url,omitempty"`
	Action   string `json:"action,omitempty"`
	Activity string `json:"activity,omitempty"`
}

// Badge changes the app icon's badge number.
type Badge struct {
	AddNum   *int   `json:"addNum,omitempty"`
	SetNum   *int   `json:"setNum,omitempty"`
	Activity string `json:"activity,omitempty"`
}

// EasemobPushSync pushes to one user and waits for the vendor's verdict
// (POST /{org}/{app}/push/sync/{target}). Easemob allows 1 call/s.
type EasemobPushSync struct {
	Target      string      `json:"target"` // path parameter: the user id
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushAsync pushes to one user without waiting for the vendor
// (POST /{org}/{app}/push/async/{target}).
type EasemobPushAsync struct {
	Target      string      `json:"target"` // path parameter: the user id
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushSingle pushes to a list of users (POST /{org}/{app}/push/single).
// Easemob takes at most 100 targets a call; the Producer splits longer lists
// into several tasks.
type EasemobPushSingle struct {
	Targets     []string    `json:"targets"`
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushLabel pushes to every user under one label
// (POST /{org}/{app}/push/list/label). It creates an Easemob push task.
type EasemobPushLabel struct {
	Targets     []string    `json:"targets"` // exactly one label name
	StartDate   string      `json:"startDate,omitempty"`
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

// EasemobPushTask pushes to all users of the app (POST /{org}/{app}/push/task).
// It creates an Easemob push task.
type EasemobPushTask struct {
	StartDate   string      `json:"startDate,omitempty"`
	Strategy    *int        `json:"strategy,omitempty"`
	PushMessage PushMessage `json:"pushMessage"`
}

func (*EasemobPushSync) Type() string   { return TypeEasemobPushSync }
func (*EasemobPushAsync) Type() string  { return TypeEasemobPushAsync }
func (*EasemobPushSingle) Type() string { return TypeEasemobPushSingle }
func (*EasemobPushLabel) Type() string  { return TypeEasemobPushLabel }
func (*EasemobPushTask) Type() string   { return TypeEasemobPushTask }

// TODO(contract): the rules from providers.md.
func (*EasemobPushSync) Validate(Env) error   { return nil }
func (*EasemobPushAsync) Validate(Env) error  { return nil }
func (*EasemobPushSingle) Validate(Env) error { return nil }
func (*EasemobPushLabel) Validate(Env) error  { return nil }
func (*EasemobPushTask) Validate(Env) error   { return nil }
