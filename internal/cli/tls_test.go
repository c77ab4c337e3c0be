package cli

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestTLSConfigSelfSigned(t *testing.T) {
	var out bytes.Buffer
	cfg, err := tlsConfig("", "", &out)
	if err != nil {
		t.Fatalf("tlsConfig(\"\", \"\") = %v, want nil", err)
	}
	if got := strings.Join(cfg.NextProtos, ","); got != "h2,http/1.1" {
		t.Errorf("NextProtos = %q, want \"h2,http/1.1\"", got)
	}
	if note := out.String(); strings.Count(note, "\n") != 1 || !strings.Contains(note, "self-signed") {
		t.Errorf("stdout = %q, want one line noting the self-signed certificate", note)
	}
	leaf := cfg.Certificates[0].Leaf
	if key, ok := leaf.PublicKey.(*ecdsa.PublicKey); !ok || key.Curve != elliptic.P256() {
		t.Errorf("public key = %T, want ECDSA P-256", leaf.PublicKey)
	}
	roots := x509.NewCertPool()
	roots.AddCert(leaf)
	for _, name := range []string{"127.0.0.1", "localhost", "::1"} {
		if _, err := leaf.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
			t.Errorf("Verify(%q) = %v, want nil", name, err)
		}
	}
	if _, err := leaf.Verify(x509.VerifyOptions{DNSName: "example.com", Roots: roots}); err == nil {
		t.Errorf("Verify(\"example.com\") = nil, want an error")
	}
	// A TLS handshake with a client that trusts it negotiates HTTP/2.
	cc, sc := net.Pipe()
	defer cc.Close()
	defer sc.Close()
	errc := make(chan error, 1)
	go func() { errc <- tls.Server(sc, cfg).Handshake() }()
	client := tls.Client(cc, &tls.Config{RootCAs: roots, ServerName: "localhost", NextProtos: []string{"h2", "http/1.1"}})
	if err := client.Handshake(); err != nil {
		t.Fatalf("client Handshake = %v, want nil", err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("server Handshake = %v, want nil", err)
	}
	if p := client.ConnectionState().NegotiatedProtocol; p != "h2" {
		t.Errorf("NegotiatedProtocol = %q, want \"h2\"", p)
	}
}

func TestTLSConfigFiles(t *testing.T) {
	cert, err := selfSigned(time.Now())
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600)

	tests := []struct {
		name            string
		certFile, key   string
		wantErr         string
		wantSameAsFiles bool
	}{
		{name: "both files", certFile: certFile, key: keyFile, wantSameAsFiles: true},
		{name: "cert only", certFile: certFile, wantErr: "needs both -cert and -key"},
		{name: "key only", key: keyFile, wantErr: "needs both -cert and -key"},
		{name: "missing file", certFile: filepath.Join(dir, "nope.pem"), key: keyFile, wantErr: "loading the TLS certificate"},
		{name: "key is no cert", certFile: keyFile, key: keyFile, wantErr: "loading the TLS certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			cfg, err := tlsConfig(tt.certFile, tt.key, &out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("tlsConfig(%q, %q) = %v, want an error containing %q", tt.certFile, tt.key, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("tlsConfig(%q, %q) = %v, want nil", tt.certFile, tt.key, err)
			}
			if !bytes.Equal(cfg.Certificates[0].Certificate[0], cert.Certificate[0]) {
				t.Errorf("tlsConfig(%q, %q) loaded another certificate", tt.certFile, tt.key)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing when the files are given", out.String())
			}
		})
	}
}

func TestXConnectGODEBUG(t *testing.T) {
	tests := []struct {
		in, want    string
		wantMissing bool
	}{
		{"", "http2xconnect=1", true},
		{"http2debug=1", "http2debug=1,http2xconnect=1", true},
		{"http2xconnect=0", "http2xconnect=0,http2xconnect=1", true},
		{"http2xconnect=1", "http2xconnect=1", false},
		{"x=1,http2xconnect=1", "x=1,http2xconnect=1", false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, missing := xconnectGODEBUG(tt.in)
			if got != tt.want || missing != tt.wantMissing {
				t.Fatalf("xconnectGODEBUG(%q) = %q, %v, want %q, %v", tt.in, got, missing, tt.want, tt.wantMissing)
			}
		})
	}
}
