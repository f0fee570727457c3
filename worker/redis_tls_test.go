package worker_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/herald-dispatch/herald/worker"
)

// writePEM writes a certificate or key block to dir/name.
func writePEM(t *testing.T, dir, name, typ string, der []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// privateCA makes a CA and a certificate for "redis.internal" it signed.
func privateCA(t *testing.T, dir string) (caFile, certFile, keyFile string) {
	t.Helper()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ca := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "herald test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	leaf := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "redis.internal"},
		DNSNames:  []string{"redis.internal"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, _ := x509.MarshalECPrivateKey(key)
	return writePEM(t, dir, "ca.pem", "CERTIFICATE", caDER),
		writePEM(t, dir, "redis.pem", "CERTIFICATE", leafDER),
		writePEM(t, dir, "redis.key", "EC PRIVATE KEY", keyDER)
}

// A Redis behind a private CA is reached with tls_ca_file and
// tls_server_name, and refused without them.
func TestRedisTLSPrivateCA(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := privateCA(t, dir)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command("redis-server", "--bind", "127.0.0.1", "--port", "0", "--tls-port", strconv.Itoa(port),
		"--tls-cert-file", certFile, "--tls-key-file", keyFile, "--tls-ca-cert-file", caFile,
		"--tls-auth-clients", "no", "--save", "", "--appendonly", "no", "--dir", dir)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()

	cfg := worker.RedisConfig{
		URL:           "rediss://127.0.0.1:" + strconv.Itoa(port),
		TLSCAFile:     caFile,
		TLSServerName: "redis.internal",
	}
	rdb, err := worker.NewRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer rdb.Close()
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := rdb.Ping(context.Background()).Err()
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("PING over TLS with the private CA: %v", err)
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Without the CA the server's certificate is not trusted.
	cfg.TLSCAFile = ""
	plain, err := worker.NewRedisClient(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer plain.Close()
	err = plain.Ping(context.Background()).Err()
	var unknown x509.UnknownAuthorityError
	if err == nil || !(strings.Contains(err.Error(), "certificate") || errorsAs(err, &unknown)) {
		t.Fatalf("PING without the CA = %v, want a certificate error", err)
	}
}

func TestRedisTLSConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  worker.RedisConfig
		key  string
	}{
		{"ca without tls", worker.RedisConfig{URL: "redis://127.0.0.1:1", TLSCAFile: "/x"}, "redis.tls_ca_file"},
		{"tls flag on plain url", worker.RedisConfig{URL: "redis://127.0.0.1:1", TLS: true}, "redis.tls"},
		{"db beside url", worker.RedisConfig{URL: "redis://127.0.0.1:1", DB: 2}, "redis.db"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := simConfig("http://127.0.0.1:1")
			cfg.Redis = tt.cfg
			var ce *worker.ConfigError
			if err := cfg.Validate(); !errorsAs(err, &ce) || ce.Key != tt.key {
				t.Fatalf("err = %v, want a ConfigError for %s", err, tt.key)
			}
		})
	}
	_, err := worker.NewRedisClient(worker.RedisConfig{URL: "rediss://127.0.0.1:1", TLSCAFile: filepath.Join(t.TempDir(), "none.pem")})
	var ce *worker.ConfigError
	if !errorsAs(err, &ce) || ce.Key != "redis.tls_ca_file" {
		t.Fatalf("missing CA file: err = %v", err)
	}
}
