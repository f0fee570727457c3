package tasks

import "testing"

// crc16 gives the slots Redis Cluster gives: the check value of
// CRC-16/XMODEM, and CLUSTER KEYSLOT of a few keys as redis-server 7
// answers it.
func TestCRC16(t *testing.T) {
	cases := []struct {
		key  string
		slot uint16
	}{
		{"123456789", 0x31C3},
		{"foo", 12182},
		{"bar", 5061},
		{"hello", 866},
	}
	for _, c := range cases {
		if got := crc16(c.key) % clusterSlots; got != c.slot%clusterSlots {
			t.Errorf("slot of %q = %d, want %d", c.key, got, c.slot%clusterSlots)
		}
	}
}

// The shards of every provider fall one into each n-th of the slot range.
func TestQueuesCoverSlotRange(t *testing.T) {
	for _, p := range Providers() {
		for _, n := range []int{2, 3, 8, MaxShards} {
			seen := make([]bool, n)
			for _, q := range p.Queues(n) {
				seen[slotPart(q, n)] = true
			}
			for i, ok := range seen {
				if !ok {
					t.Errorf("%s.Queues(%d) has no queue in part %d of the slots", p, n, i)
				}
			}
		}
	}
}
