package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/lanewatch/lanewatch/internal/testenv"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 and returns the files and a pool
// trusting it.
func writeTestCert(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "lanewatch-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestTLSListeners serves MQTT over TLS and the API over HTTPS with a test certificate.
func TestTLSListeners(t *testing.T) {
	influx := testenv.Influx(t)
	certFile, keyFile, pool := writeTestCert(t)
	h := startAppWith(t, influx, t.TempDir(), func(c *Config) {
		c.MQTT.TLSAddr, c.MQTT.TLSCert, c.MQTT.TLSKey = testenv.FreeAddr(t), certFile, keyFile
		c.HTTP.TLSCert, c.HTTP.TLSKey = certFile, keyFile
	}, "https")
	tlsConf := &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}

	// HTTPS answers; plain HTTP on the same port does not get a normal response.
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: tlsConf}, Timeout: 10 * time.Second}
	resp, err := client.Get("https://" + h.cfg.HTTP.Addr + "/healthz")
	if err != nil {
		t.Fatalf("https healthz: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("https healthz: %s", resp.Status)
	}
	if resp, err := http.Get("http://" + h.cfg.HTTP.Addr + "/healthz"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == 200 {
			t.Fatal("plain HTTP served on the TLS listener")
		}
	}

	// MQTT over TLS: a device connects and publishes; a client that does not trust the
	// certificate is refused.
	opts := paho.NewClientOptions().AddBroker("ssl://" + h.cfg.MQTT.TLSAddr).SetClientID("tls-sw").
		SetUsername("sw-001").SetPassword("sweeper-one-pass").SetProtocolVersion(4).SetTLSConfig(tlsConf).
		SetAutoReconnect(false).SetConnectTimeout(5 * time.Second)
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		t.Fatalf("mqtt tls connect: %v", tok.Error())
	}
	defer c.Disconnect(50)
	publish(t, c, "vehicles/sw-001/telemetry", 1, telemetry(time.Now().Add(-time.Minute), 22.51, 113.375, 8, true))

	bad := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + h.cfg.MQTT.TLSAddr).SetClientID("tls-bad").
		SetUsername("sw-001").SetPassword("sweeper-one-pass").SetProtocolVersion(4).
		SetTLSConfig(&tls.Config{MinVersion: tls.VersionTLS12}).SetAutoReconnect(false).SetConnectTimeout(5 * time.Second))
	if tok := bad.Connect(); tok.WaitTimeout(10*time.Second) && tok.Error() == nil {
		bad.Disconnect(50)
		t.Fatal("a client that does not trust the certificate connected")
	}
}
