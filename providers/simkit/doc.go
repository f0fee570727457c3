// Package simkit is what every provider simulator shares, so that each
// simulator (easemobsim, and the Feishu, DingTalk and EnOS ones) keeps only
// its provider's rules: routes, auth headers, envelopes, error codes.
//
// A Kit wraps a simulator's http.Handler and gives it, ready made:
//
//   - fault injection per endpoint (latency, an error status, a hung call,
//     a dropped connection, and a drop after processing: the handler runs
//     and records the call, then the connection closes without a reply, so
//     a client cannot know the notification went out), each with a count;
//   - the record of every call (Call, with its arrival time) and a log of
//     the notifications the simulator accepted, of the simulator's own
//     record type R, both bounded;
//   - sliding-window limits per endpoint (N calls in any window), exact
//     from arrival times, changeable while serving;
//   - token issuing, expiry and revocation (one or all), with a count of
//     tokens issued;
//   - one injectable clock for all of it;
//   - HTTP control endpoints under /_sim/ (see ControlPrefix), so a
//     simulator run as a process (cmd/simulator, the demo, benchmarks) can
//     be given faults and asked for its records from outside, and Control,
//     a small Go client for them;
//   - the server's lifecycle: Start, Serve, URL, Shutdown, Close, with hung
//     calls released on shutdown.
//
// # Writing a simulator
//
// A simulator is a struct that embeds *Kit[R], where R is its record of an
// accepted notification. It hands New a Route, which names the endpoint a
// request is for (faults and limits are per endpoint), and a Handler,
// which applies the provider's documented rules:
//
//	type Server struct {
//		*simkit.Kit[Record]
//	}
//
//	func New() *Server {
//		s := &Server{}
//		s.Kit = simkit.New[Record](simkit.Config{
//			Route:   route,                       // "/v1/send" -> "send"
//			Handler: http.HandlerFunc(s.serve),   // the provider's rules
//			FaultReply: s.errorReply,             // documented body for a status
//			Limits:  map[simkit.Endpoint]simkit.Limit{"send": {N: 20, Per: time.Second}},
//		})
//		return s
//	}
//
// In its handler the simulator checks tokens with s.CheckToken, applies its
// limits with s.Allow, names the provider's error code it answered with
// Note (so Calls show it), and stores what it accepted with s.Record. It
// never records calls itself: the Kit records every one, faulted or not,
// with the status the client actually saw (0 when it saw none).
//
// Tests in the same process use the Kit's methods (Inject, Calls,
// Records, RevokeTokens, …), start it with StartTest, and run the checks
// every simulator must pass (CheckRecords, CheckShutdownReleases). Tests
// that run the simulator in another process use Control against its base
// URL.
//
// Time comes from Config.Now, so a test can move a Clock past a token's
// expiry or a limit's window without sleeping.
package simkit
