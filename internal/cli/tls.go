package cli

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"syscall"
	"time"
)

// tlsConfig returns the TLS configuration of "serve -tls" and "echo -tls":
// the certificate and key from certFile and keyFile (PEM), or, when both
// are empty, a self-signed certificate for 127.0.0.1, ::1 and localhost
// generated now (ECDSA P-256, valid for 30 days), with a one-line note on
// stdout. NextProtos offers HTTP/2 first, so that browsers can open
// WebSockets over HTTP/2 (RFC 8441), and HTTP/1.1.
func tlsConfig(certFile, keyFile string, stdout io.Writer) (*tls.Config, error) {
	var cert tls.Certificate
	switch {
	case certFile != "" && keyFile != "":
		var err error
		cert, err = tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("loading the TLS certificate: %w", err)
		}
	case certFile != "" || keyFile != "":
		return nil, errors.New("a TLS certificate needs both -cert and -key")
	default:
		var err error
		cert, err = selfSigned(time.Now())
		if err != nil {
			return nil, fmt.Errorf("generating a self-signed certificate: %w", err)
		}
		sum := sha256.Sum256(cert.Certificate[0])
		fmt.Fprintf(stdout, "pushwire: using a self-signed certificate for 127.0.0.1 and localhost (SHA-256 %X); browsers will warn, or run Chromium with --ignore-certificate-errors\n", sum[:8])
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		NextProtos:   []string{"h2", "http/1.1"},
		MinVersion:   tls.VersionTLS12,
	}, nil
}

// selfSigned generates a certificate for the loopback names, valid from an
// hour before now for 30 days.
func selfSigned(now time.Time) (tls.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tls.Certificate{}, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{Organization: []string{"pushwire"}, CommonName: "localhost"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, nil
}

// xconnectGODEBUG returns the GODEBUG value with http2xconnect=1 added, and
// whether it had to be added.
func xconnectGODEBUG(godebug string) (string, bool) {
	if strings.Contains(godebug, "http2xconnect=1") {
		return godebug, false
	}
	if godebug == "" {
		return "http2xconnect=1", true
	}
	return godebug + ",http2xconnect=1", true
}

// ensureXConnect makes net/http's HTTP/2 server accept WebSockets over
// HTTP/2 (extended CONNECT, RFC 8441). net/http reads GODEBUG once, when
// the program starts, so when http2xconnect=1 is missing the program
// replaces itself (execve) with a copy of itself started with it: same
// arguments, same environment plus the setting. Call it first in main,
// before any goroutine starts, when -tls is used. On success it does not
// return; if the re-execution fails the error is returned and the program
// can go on serving WebSockets over HTTP/1.1 only.
func ensureXConnect() error {
	godebug, missing := xconnectGODEBUG(os.Getenv("GODEBUG"))
	if !missing {
		return nil
	}
	exe, err := os.Executable()
	if err != nil {
		return fmt.Errorf("re-executing with GODEBUG=%s: %w", godebug, err)
	}
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "GODEBUG=") {
			env = append(env, kv)
		}
	}
	env = append(env, "GODEBUG="+godebug)
	if err := syscall.Exec(exe, os.Args, env); err != nil {
		return fmt.Errorf("re-executing %s with GODEBUG=%s: %w", exe, godebug, err)
	}
	return nil
}
