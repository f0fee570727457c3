package tasks

import (
	"hash/fnv"
	"strconv"
	"strings"
)

// MaxShards bounds Shards. Every shard is a queue each worker polls when it
// is idle, so more shards than a cluster has masters buys little.
const MaxShards = 64

// clusterSlots is how many hash slots a Redis Cluster has.
const clusterSlots = 16384

// Queues returns the names of the asynq queues that carry the provider's
// jobs when they are spread over shards queues (Shards). One shard is the
// provider's own queue, Queue(). asynq keeps each queue's keys in one
// Redis Cluster hash slot, so one queue puts all of a provider's traffic on
// one master; several queues spread it.
//
// The other names are the provider's name, a dot and a number, picked so
// that the n queues' slots fall one into each n-th of the slot range: a
// cluster made with redis-cli --cluster create shares the slots evenly
// between its masters, so every master gets its share of the shards.
// The names are fixed by n alone, so every producer and worker configured
// with the same number agrees on them. They come in slot order.
func (p Provider) Queues(shards int) []string {
	shards = min(max(shards, 1), MaxShards)
	if shards == 1 {
		return []string{p.Queue()}
	}
	names := make([]string, shards)
	names[slotPart(p.Queue(), shards)] = p.Queue()
	for k, left := 1, shards-1; left > 0; k++ {
		name := p.Queue() + "." + strconv.Itoa(k)
		if i := slotPart(name, shards); names[i] == "" {
			names[i] = name
			left--
		}
	}
	return names
}

// QueueFor returns the queue, of the provider's shards queues, that holds
// the task with the given id. The id alone decides it, so a lookup by id
// goes to one queue, an idempotency key always meets its earlier task
// (asynq detects a taken id within one queue), and jobs of any mix of
// accounts spread evenly: no account's jobs sit behind another's in a
// shard of their own.
func (p Provider) QueueFor(id string, shards int) string {
	queues := p.Queues(shards)
	return queues[shardOf(id, len(queues))]
}

// shardOf maps a task id to one of n shards.
func shardOf(id string, n int) int {
	if n <= 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(id))
	return int(h.Sum32() % uint32(n))
}

// ProviderOfQueue returns the provider whose jobs queue carries: its own
// queue or one of its shards ("easemob", "easemob.7").
func ProviderOfQueue(queue string) (Provider, bool) {
	name, num, sharded := strings.Cut(queue, ".")
	if sharded {
		if n, err := strconv.Atoi(num); err != nil || n < 1 || strconv.Itoa(n) != num {
			return "", false
		}
	}
	for _, p := range Providers() {
		if p.Queue() == name {
			return p, true
		}
	}
	return "", false
}

// slotPart is which n-th of the Redis Cluster slot range the queue's keys
// fall in. asynq tags every key of a queue with the queue's name, so the
// slot is that of the name.
func slotPart(queue string, n int) int {
	return int(crc16(queue)) % clusterSlots * n / clusterSlots
}

// crc16 is Redis Cluster's key hash (CRC-16/XMODEM), as its cluster
// specification gives it.
func crc16(s string) uint16 {
	var crc uint16
	for i := 0; i < len(s); i++ {
		crc ^= uint16(s[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return crc
}

// WithShards spreads every provider's jobs over n queues (Provider.Queues)
// instead of one, so that on a Redis Cluster a provider's queue traffic is
// shared by the masters rather than carried by the one holding its queue's
// slot. Each task goes to the shard its id picks (Provider.QueueFor).
//
// Producers and workers must be given the same n (the worker's shards
// setting): a worker takes jobs from the shards its own n names, and, with
// a warning, from any other shard of its providers it finds in Redis. On a
// single Redis server shards gain nothing; the default is 1.
func WithShards(n int) ProducerOption {
	return producerOption(func(p *Producer) error {
		if n < 1 || n > MaxShards {
			return optionError("WithShards", n, "must be 1 to "+strconv.Itoa(MaxShards))
		}
		p.shards = n
		return nil
	})
}
