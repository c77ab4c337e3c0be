// Package fuzz holds differential fuzzers that span pushwire's packages:
// properties that no single package can check alone, each comparing an
// implementation with an independent statement of the rule.
//
//   - FuzzFrameHeader: wsproto/frame's header codec against a plain decoder of the
//     RFC 6455 §5.2 wire format written here, and encode → decode round trips.
//   - FuzzUTF8Splits: frame.UTF8Validator fed in random splits against
//     unicode/utf8.
//   - FuzzWebSocketRoundTrip: messages of any content, type and
//     fragmentation sent by a pushwire client over loopback TCP and read by
//     a pushwire server, and back.
//   - FuzzHandshakeRequest: handshake.CheckRequest against RFC 6455 §4.2.1
//     restated over net/http's own parse of the same request bytes.
//   - FuzzSSERoundTrip: events encoded by sseproto's server Stream, carried
//     over HTTP and dispatched by sseproto's Client.
//
// The per-package fuzz targets (decoders against reference transcriptions,
// round trips of single codecs) stay beside their packages' tests; the script
// scripts/fuzz.sh runs all of them, briefly in CI and for as long as asked by
// hand. Crashers are committed under testdata/fuzz/ of the package that
// found them.
//
// # Concurrency
//
// The package has no API; its fuzz targets run in parallel worker processes.
//
// # Limits
//
// Inputs are bounded by the fuzz targets themselves (messages up to 1 MiB,
// event streams up to 64 KiB) so that a run's memory stays small.
//
// # Security
//
// The targets bind only to 127.0.0.1.
package fuzz
