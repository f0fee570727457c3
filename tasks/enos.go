package tasks

import "fmt"

// enosMaxMessages is the most messages one produce call takes.
const enosMaxMessages = 100

// EnOSNoticeProduce creates and sends to-do notice messages in the EnOS
// application portal (POST /app-portal/api/v3/notice-message/produce?orgId=).
// One call takes at most 100 messages and is all-or-nothing: if one message
// fails, none is sent. The Producer splits a longer list, in order, into
// calls of 100; the all-or-nothing guarantee then holds per call, not for
// the whole list.
//
// A messageId already known in the OU is only sent, never changed: content
// fields are ignored and users who already received it are skipped. That
// makes a retried call harmless, and is why messageIds must be unique
// within a job. Unknown user ids in targets are dropped silently.
type EnOSNoticeProduce struct {
	// OrgID is the OU id. It goes in the query string, not the body, so
	// it may not hold control characters, spaces or URL delimiters.
	OrgID    string        `json:"orgId"`
	Messages []EnOSMessage `json:"messages"`
}

// EnOSMessage is one notice message (MessageProduceDTO). Only MessageID is
// always required. MessageType and TargetType are required when the
// messageId is new to the OU, which Herald cannot know, so they are
// optional here; when set they are checked.
//
// AppID names an app of the OU by its access key; AppName names an external
// app instead, and the two exclude each other. The seed's request example
// sets both, but its field reference says appId must be empty for an
// external app, which is the only case appName is for; Herald follows the
// reference.
type EnOSMessage struct {
	MessageID string `json:"messageId"`
	// MessageType must be 1 (to-do), the only type EnOS supports.
	MessageType *int   `json:"messageType,omitempty"`
	AppID       string `json:"appId,omitempty"`
	AppName     *I18n  `json:"appName,omitempty"`
	// URL is the link the title opens. It wins over the linked* fields.
	URL string `json:"url,omitempty"`
	// LinkedAppID, LinkedMenuCode and LinkedStates build a link into a
	// portal app: https://{app-service}/portal/{linkedAppId}/{linkedMenuCode}?state={linkedStates}.
	LinkedAppID    string `json:"linkedAppId,omitempty"`
	LinkedMenuCode string `json:"linkedMenuCode,omitempty"`
	LinkedStates   string `json:"linkedStates,omitempty"`
	// Features describe the link, shown beside it.
	Features []I18n `json:"features,omitempty"`
	Body     *I18n  `json:"body,omitempty"`
	Header   *I18n  `json:"header,omitempty"`
	Tags     []I18n `json:"tags,omitempty"`
	// TargetType is 0 for every user in the OU, 1 for the users in Targets.
	TargetType *int     `json:"targetType,omitempty"`
	Targets    []string `json:"targets,omitempty"`
}

// I18n is EnOS's internationalised text. EnOS needs a default value or an
// English one: at least one of DefaultValue and I18nValue["en_US"].
type I18n struct {
	DefaultValue string `json:"defaultValue,omitempty"`
	// I18nValue maps locales ("zh_CN", "en_US") to text.
	I18nValue map[string]string `json:"i18nValue,omitempty"`
}

func (*EnOSNoticeProduce) Type() string { return TypeEnOSNoticeProduce }

// Validate checks the job as one call: at most 100 messages.
func (j *EnOSNoticeProduce) Validate(Env) error {
	if err := j.validateWhole(); err != nil {
		return err
	}
	if n := len(j.Messages); n > enosMaxMessages {
		return invalid(TypeEnOSNoticeProduce, "messages",
			fmt.Sprintf("%d messages, more than %d in one call", n, enosMaxMessages))
	}
	return nil
}

// validateWhole checks every rule but the 100-message limit.
func (j *EnOSNoticeProduce) validateWhole() error {
	const job = TypeEnOSNoticeProduce
	if j.OrgID == "" {
		return invalid(job, "orgId", "required")
	}
	if rule := urlIDRule(j.OrgID); rule != "" {
		return invalid(job, "orgId", rule)
	}
	if len(j.Messages) == 0 {
		return invalid(job, "messages", "needs at least one message")
	}
	seen := make(map[string]int, len(j.Messages))
	for i := range j.Messages {
		m := &j.Messages[i]
		path := index("messages", i)
		if m.MessageID != "" {
			if first, dup := seen[m.MessageID]; dup {
				return invalid(job, path+".messageId", "duplicate of "+index("messages", first))
			}
			seen[m.MessageID] = i
		}
		if err := m.validate(job, path); err != nil {
			return err
		}
	}
	return nil
}

func (m *EnOSMessage) validate(job, path string) error {
	if m.MessageID == "" {
		return invalid(job, path+".messageId", "required")
	}
	if m.MessageType != nil && *m.MessageType != 1 {
		return invalid(job, path+".messageType", fmt.Sprintf("must be 1 (to-do), is %d", *m.MessageType))
	}
	if m.AppID != "" && m.AppName != nil {
		return invalid(job, path+".appName", "excludes appId: appName is for external apps only")
	}
	texts := []struct {
		field string
		text  *I18n
	}{
		{".appName", m.AppName},
		{".body", m.Body},
		{".header", m.Header},
	}
	for _, t := range texts {
		if err := t.text.validate(job, path+t.field); err != nil {
			return err
		}
	}
	for i := range m.Features {
		if err := m.Features[i].validate(job, index(path+".features", i)); err != nil {
			return err
		}
	}
	for i := range m.Tags {
		if err := m.Tags[i].validate(job, index(path+".tags", i)); err != nil {
			return err
		}
	}
	if m.TargetType != nil {
		switch *m.TargetType {
		case 0:
		case 1:
			if len(m.Targets) == 0 {
				return invalid(job, path+".targets", "required when targetType is 1")
			}
		default:
			return invalid(job, path+".targetType", fmt.Sprintf("must be 0 (all users) or 1 (listed users), is %d", *m.TargetType))
		}
	}
	for i, t := range m.Targets {
		if t == "" {
			return invalid(job, index(path+".targets", i), "empty user id")
		}
	}
	return nil
}

// validate checks a given i18n object; nil (absent) is fine.
func (t *I18n) validate(job, field string) error {
	if t != nil && t.DefaultValue == "" && t.I18nValue["en_US"] == "" {
		return invalid(job, field, "needs defaultValue or i18nValue.en_US")
	}
	return nil
}

// split cuts the messages, in order, into calls of at most 100. Every part
// shares OrgID, and the messages' own slices and maps.
func (j *EnOSNoticeProduce) split() []Job {
	if len(j.Messages) <= enosMaxMessages {
		return []Job{j}
	}
	var parts []Job
	for start := 0; start < len(j.Messages); start += enosMaxMessages {
		end := min(start+enosMaxMessages, len(j.Messages))
		part := *j
		part.Messages = j.Messages[start:end:end]
		parts = append(parts, &part)
	}
	return parts
}
