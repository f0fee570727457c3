// Package ratelimit holds limits that every worker replica honours
// together, because their state lives in Redis rather than in any one
// process. asynq has no global rate limit; these fill the gap.
//
// # Kinds
//
// Providers limit callers in three different ways, and each gets its own
// limiter; a fourth counts calls the way providers do:
//
//   - Rate spaces calls out: N per period, with a burst (Easemob push/sync
//     1/s, DingTalk 20/s, Feishu execute_send 10/min). It implements GCRA
//     and keeps one timestamp per key.
//   - Window caps starts in any rolling period, with no double burst at a
//     boundary (Easemob: 3 push tasks created per 5 minutes). It keeps a
//     sliding log of start times.
//   - Concurrency caps how many run at once (Easemob: 3 push tasks running;
//     in-flight HTTP calls to a provider). Each holder takes a lease that
//     expires by itself, so a crashed worker cannot keep its slot.
//   - Calls holds calls to at most N in any rolling period as the provider
//     counts them on arrival, however late they leave after their permit:
//     each call counts from its permit until its answer, then from the
//     answer. It adapts to a provider that refuses calls it allowed
//     (Throttle: multiplicative decrease, additive recovery). The worker
//     enforces its rates and windows with it.
//
// On top of those, Cooldown carries a provider's own "too many requests" to
// every replica: once one replica sees a 429 and calls Block, every decision
// for that key is denied until the cool-down ends.
//
// One caller key may carry several kinds at once (a push.task key with a
// rate, a window and a concurrency limit); each kind keeps its own state.
//
// # Decisions
//
// Every check returns a Decision: Allowed, and when not, RetryAfter, the
// exact time until the same attempt would be admitted (assuming nobody
// else takes the room first). The limiters never sleep. The caller decides
// what to do with the wait: a worker can wait a short RetryAfter in place
// and hand a long one back to the queue as a reschedule, which costs no
// retry. Remaining says how much room is left right now.
//
// # How it works
//
// Each decision is one Lua script run with EVALSHA: one round trip, atomic,
// so replicas racing for the last slot cannot both win. The scripts take the
// time from Redis (TIME), never from the caller, so clock skew between
// replicas does not matter. Redis replicates the scripts' effects, not the
// scripts, so reading the clock is safe for replicas and AOF; that is the
// default from Redis 5 and the only mode from Redis 7, so Redis 5 or later
// is required.
//
// A caller key such as "easemob:default:push.sync" is stored under
// "herald:rl:{easemob:default:push.sync}:rate" (":window",
// ":concurrency", ":calls", ":adapt", ":cooldown" for the others). The braces are a Redis
// Cluster hash tag: all of a key's structures hash to the same slot, which
// is what lets each script read the cool-down in the same call as its own
// state. Every stored key expires once it no longer matters, so idle
// limiters leave nothing behind. Expiry only cleans up: each decision is
// made by comparing stored times with TIME, so the limiters are also right
// on an embedded Redis whose TTLs do not run down by themselves (miniredis,
// in the worker's demo mode).
//
// The limiters accept any redis.Scripter: a *redis.Client, a Sentinel
// failover client, a *redis.ClusterClient or a redis.UniversalClient.
package ratelimit
