package tlsident

import "crypto/tls"

// tls12CipherSuites are the TLS 1.2 suites the server accepts: ECDHE key
// exchange (forward secrecy) with an AEAD cipher only, no CBC, no static RSA.
// The RSA-authenticated ones serve users who replaced server.pem with an RSA
// certificate, as cln-grpc's documentation shows with `openssl genrsa`.
// TLS 1.3 suites are not configurable in Go and are all AEAD.
var tls12CipherSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// TLSConfig returns a new server configuration presenting the server
// certificate: TLS 1.2 minimum, and for TLS 1.2 only ECDHE key exchange with
// AEAD ciphers. No client certificate is requested: clnrest authenticates
// requests with runes, not mTLS (upstream serves with a rustls config built
// from server.pem and server-key.pem alone). NextProtos is left empty:
// http.Server.ServeTLS fills it from Server.Protocols (h2 and http/1.1 by
// default); a caller wrapping a listener itself must set it.
func (id *Identity) TLSConfig() *tls.Config {
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		CipherSuites: append([]uint16(nil), tls12CipherSuites...),
		Certificates: []tls.Certificate{id.ServerCertificate},
		ClientAuth:   tls.NoClientCert,
	}
}
