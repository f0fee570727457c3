package redistest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots a Redis Cluster divides keys into.
const clusterSlots = 16384

// setupTimeout bounds how long a cluster or sentinel may take to come up.
// Both normally take about two seconds at most (a cluster master waits 2 s
// after it starts before it will report cluster_state:ok).
const setupTimeout = 15 * time.Second

// Cluster is a Redis Cluster of masters only, each a redis-server child
// process on a loopback port. It proves code that runs on one server also
// runs where a script's keys must share a slot and a multi-key command may
// not span nodes. There are no replicas: failover is not what it tests.
type Cluster struct {
	Addrs []string // host:port of every master

	nodes []*Server
	dir   string
}

// StartCluster starts masters redis-server processes in cluster mode, gives
// each an even share of the 16384 slots, introduces them to each other and
// waits until every node reports cluster_state:ok and knows where every slot
// lives. It fails, rather than skips, when redis-server is missing.
func StartCluster(masters int) (*Cluster, error) {
	if masters < 1 {
		return nil, fmt.Errorf("redistest: a cluster needs at least one master, not %d", masters)
	}
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	dir, err := os.MkdirTemp("", "herald-redis-cluster-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir}
	if err := c.start(bin, masters); err != nil {
		c.Stop()
		return nil, err
	}
	return c, nil
}

func (c *Cluster) start(bin string, masters int) error {
	// Each node's cluster bus gets a free port of its own rather than the
	// default port+10000, which may be taken or beyond 65535.
	busPorts := make([]int, masters)
	for i := range masters {
		n, err := onFreePort(func(port int) (*Server, error) {
			bus, err := freePort()
			if err != nil {
				return nil, err
			}
			busPorts[i] = bus
			return launch(bin, c.dir, port,
				"--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(c.dir, fmt.Sprintf("nodes-%d.conf", port)),
				"--cluster-port", strconv.Itoa(bus),
			)
		})
		if err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
		c.Addrs = append(c.Addrs, n.Addr)
	}

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	clients := make([]*redis.Client, masters)
	for i, n := range c.nodes {
		clients[i] = redis.NewClient(&redis.Options{Addr: n.Addr})
		defer clients[i].Close()
	}
	for i, rc := range clients {
		lo, hi := i*clusterSlots/masters, (i+1)*clusterSlots/masters-1
		if err := rc.ClusterAddSlotsRange(ctx, lo, hi).Err(); err != nil {
			return fmt.Errorf("redistest: %s: CLUSTER ADDSLOTSRANGE %d %d: %w", c.Addrs[i], lo, hi, err)
		}
	}
	// Meeting the first node is enough: gossip spreads the rest.
	for i := 1; i < masters; i++ {
		host, port, _ := net.SplitHostPort(c.Addrs[i])
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", host, port, busPorts[i]).Err(); err != nil {
			return fmt.Errorf("redistest: CLUSTER MEET %s: %w", c.Addrs[i], err)
		}
	}
	for i, rc := range clients {
		if err := c.awaitReady(ctx, rc, masters); err != nil {
			return fmt.Errorf("redistest: cluster node %s: %w: %s", c.Addrs[i], err, c.nodes[i].logTail(portOf(c.Addrs[i])))
		}
	}
	return nil
}

// awaitReady polls a node's CLUSTER INFO until it sees a healthy cluster of
// the given size with every slot assigned.
func (c *Cluster) awaitReady(ctx context.Context, rc *redis.Client, masters int) error {
	want := map[string]string{
		"cluster_state":          "ok",
		"cluster_slots_assigned": strconv.Itoa(clusterSlots),
		"cluster_slots_ok":       strconv.Itoa(clusterSlots),
		"cluster_known_nodes":    strconv.Itoa(masters),
		"cluster_size":           strconv.Itoa(masters),
	}
	var last string
	for {
		info, err := rc.ClusterInfo(ctx).Result()
		if err == nil && matches(parseInfo(info), want) {
			return nil
		}
		last = info
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not ready in %s; last CLUSTER INFO: %s", setupTimeout, strings.ReplaceAll(last, "\r\n", " "))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Client returns a cluster client after flushing every master, so each test
// starts from an empty cluster. It is closed when the test ends. Tests that
// share one Cluster must not run in parallel with each other.
func (c *Cluster) Client(t testing.TB) *redis.ClusterClient {
	t.Helper()
	rc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: c.Addrs})
	t.Cleanup(func() { rc.Close() })
	err := rc.ForEachMaster(context.Background(), func(ctx context.Context, m *redis.Client) error {
		return m.FlushAll(ctx).Err()
	})
	if err != nil {
		t.Fatalf("redistest: flush cluster %v: %v", c.Addrs, err)
	}
	return rc
}

// Stop kills every node and removes their directory.
func (c *Cluster) Stop() {
	for _, n := range c.nodes {
		n.kill()
	}
	os.RemoveAll(c.dir)
}

// Sentinel is one Redis master watched by one Sentinel, both child
// processes on loopback ports: the smallest setup a Sentinel-aware client
// (go-redis's FailoverClient) can be pointed at. With no replica there is
// nothing to fail over to; it proves clients find the master through the
// Sentinel and work through it.
type Sentinel struct {
	MasterName    string   // the name the Sentinel monitors the master under
	SentinelAddrs []string // host:port of the Sentinel
	MasterAddr    string   // host:port of the master, as the Sentinel reports it

	master   *Server
	sentinel *Server
	dir      string
}

// StartSentinel starts a master and a Sentinel monitoring it as "herald"
// with a quorum of 1, and waits until the Sentinel reports that master and
// is connected to it.
func StartSentinel() (*Sentinel, error) {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return nil, errors.New(InstallHint)
	}
	dir, err := os.MkdirTemp("", "herald-redis-sentinel-")
	if err != nil {
		return nil, err
	}
	s := &Sentinel{MasterName: "herald", dir: dir}
	if err := s.start(bin); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Sentinel) start(bin string) error {
	var err error
	s.master, err = onFreePort(func(port int) (*Server, error) { return launch(bin, s.dir, port) })
	if err != nil {
		return err
	}
	s.MasterAddr = s.master.Addr
	host, mport, _ := net.SplitHostPort(s.master.Addr)
	s.sentinel, err = onFreePort(func(port int) (*Server, error) {
		// A Sentinel rewrites its config file as it learns, so it needs
		// one on disk; the file must come first on the command line.
		conf := filepath.Join(s.dir, fmt.Sprintf("sentinel-%d.conf", port))
		body := fmt.Sprintf("sentinel monitor %s %s %s 1\n"+
			"sentinel down-after-milliseconds %[1]s 1000\n"+
			"sentinel failover-timeout %[1]s 5000\n", s.MasterName, host, mport)
		if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
			return nil, err
		}
		return spawn(exec.Command(bin, conf, "--sentinel",
			"--bind", "127.0.0.1",
			"--port", strconv.Itoa(port),
			"--dir", s.dir,
			"--logfile", logFile(s.dir, port),
		), s.dir, port)
	})
	if err != nil {
		return err
	}
	s.SentinelAddrs = []string{s.sentinel.Addr}

	ctx, cancel := context.WithTimeout(context.Background(), setupTimeout)
	defer cancel()
	sc := redis.NewSentinelClient(&redis.Options{Addr: s.sentinel.Addr})
	defer sc.Close()
	var last string
	for {
		addr, err := sc.GetMasterAddrByName(ctx, s.MasterName).Result()
		if err == nil && len(addr) == 2 && net.JoinHostPort(addr[0], addr[1]) == s.MasterAddr {
			// The address comes from the config at once; wait until the
			// Sentinel has also reached the master and sees it up.
			m, err := sc.Master(ctx, s.MasterName).Result()
			if err == nil && m["flags"] == "master" && m["role-reported"] == "master" {
				return nil
			}
			last = fmt.Sprintf("master %v, %v", m, err)
		} else {
			last = fmt.Sprintf("get-master-addr-by-name: %v, %v", addr, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("redistest: sentinel %s not ready in %s; last: %s: %s",
				s.sentinel.Addr, setupTimeout, last, s.sentinel.logTail(portOf(s.sentinel.Addr)))
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// Client returns a failover client that finds the master through the
// Sentinel, after flushing every key. It is closed when the test ends.
// Tests that share one Sentinel must not run in parallel with each other.
func (s *Sentinel) Client(t testing.TB) *redis.Client {
	t.Helper()
	rc := redis.NewFailoverClient(&redis.FailoverOptions{MasterName: s.MasterName, SentinelAddrs: s.SentinelAddrs})
	t.Cleanup(func() { rc.Close() })
	if err := rc.FlushAll(context.Background()).Err(); err != nil {
		t.Fatalf("redistest: flush %s via sentinel %v: %v", s.MasterName, s.SentinelAddrs, err)
	}
	return rc
}

// Stop kills the Sentinel, then the master (so the Sentinel never sees it
// go down), and removes their directory.
func (s *Sentinel) Stop() {
	for _, p := range []*Server{s.sentinel, s.master} {
		if p != nil {
			p.kill()
		}
	}
	os.RemoveAll(s.dir)
}

// parseInfo reads the "field:value" lines of an INFO-style reply.
func parseInfo(info string) map[string]string {
	m := map[string]string{}
	for line := range strings.Lines(info) {
		if k, v, ok := strings.Cut(strings.TrimSpace(line), ":"); ok {
			m[k] = v
		}
	}
	return m
}

func matches(got, want map[string]string) bool {
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

// portOf is the port of a host:port address, for logTail.
func portOf(addr string) int {
	_, p, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(p)
	return n
}
