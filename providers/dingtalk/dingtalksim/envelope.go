package dingtalksim

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/herald-dispatch/herald/providers/simkit"
)

// apiError is a DingTalk error: errcode and errmsg in the envelope, HTTP 200.
type apiError struct {
	Code    int
	Msg     string
	SubCode string
	SubMsg  string
}

func errBusy() apiError { return apiError{Code: -1, Msg: "系统繁忙"} }
func errQPS() apiError  { return apiError{Code: 90018, Msg: "当前请求已被限流 (qps limit)"} }
func errInvalidParam(why string) apiError {
	return apiError{Code: 40035, Msg: "不合法的参数: " + why}
}
func errBadToken() apiError     { return apiError{Code: 40014, Msg: "不合法的access_token"} }
func errExpiredToken() apiError { return apiError{Code: 42001, Msg: "access_token超时"} }
func errBadAgent() apiError     { return apiError{Code: 40056, Msg: "不合法的agentid"} }
func errBadApp() apiError       { return apiError{Code: 40089, Msg: "不合法的appkey或appsecret"} }

// reply writes a DingTalk envelope with status: a success when e is the
// zero apiError, with fields merged in.
func reply(w http.ResponseWriter, r *http.Request, status int, e apiError, fields ...map[string]any) {
	m := map[string]any{"errcode": e.Code, "errmsg": "ok", "request_id": simkit.RandomHex(6)}
	if e.Code != 0 {
		m["errmsg"] = e.Msg
		simkit.Note(r, strconv.Itoa(e.Code))
		if e.SubCode != "" {
			m["sub_code"], m["sub_msg"] = e.SubCode, e.SubMsg
		}
	}
	for _, f := range fields {
		for k, v := range f {
			m[k] = v
		}
	}
	b, _ := json.Marshal(m)
	w.Header().Set("Content-Type", "application/json;charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func ok(w http.ResponseWriter, r *http.Request, fields ...map[string]any) {
	reply(w, r, http.StatusOK, apiError{}, fields...)
}

func fail(w http.ResponseWriter, r *http.Request, e apiError) { reply(w, r, http.StatusOK, e) }

// maxBody bounds a request body; msg alone may be 2048 bytes.
const maxBody = 64 << 10

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		fail(w, r, errInvalidParam("unreadable body"))
		return nil, false
	}
	if len(b) > maxBody {
		fail(w, r, errInvalidParam("body too large"))
		return nil, false
	}
	return b, true
}

// decode reads a JSON object body into v, numbers kept exact.
func decode(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(v)
}
