package conformance

// The RFC sentences the grading rests on, quoted once here and cited by
// the cases and the grades. A FAILED grade names the sentence the peer
// broke; a NON-STRICT grade names the SHOULD (or the MAY that Autobahn
// grades as non-strict) it did not follow.
const (
	ruleRSV = `RFC 6455 §5.2: RSV1-3 "MUST be 0 unless an extension is negotiated that defines meanings for non-zero values. ` +
		`If a nonzero value is received and none of the negotiated extensions defines the meaning of such a nonzero value, the receiving endpoint MUST _Fail the WebSocket Connection_."`
	ruleOpcode         = `RFC 6455 §5.2: "If an unknown opcode is received, the receiving endpoint MUST _Fail the WebSocket Connection_."`
	ruleReservedOpcode = `RFC 6455 §5.2: "%x3-7 are reserved for further non-control frames", "%xB-F are reserved for further control frames"`
	ruleClientMask     = `RFC 6455 §5.1: "a client MUST mask all frames that it sends to the server"`
	ruleServerMask     = `RFC 6455 §5.1: "A server MUST NOT mask any frames that it sends to the client."`
	ruleServerUnmask   = `RFC 6455 §5.1: "The server MUST close the connection upon receiving a frame that is not masked."`
	ruleClientMasked   = `RFC 6455 §5.1: "A client MUST close a connection if it detects a masked frame."`
	ruleControl        = `RFC 6455 §5.5: "All control frames MUST have a payload length of 125 bytes or less and MUST NOT be fragmented."`
	ruleLength         = `RFC 6455 §5.2: "in all cases, the minimal number of bytes MUST be used to encode the length"`
	ruleLength63       = `RFC 6455 §5.2: "If 127, the following 8 bytes interpreted as a 64-bit unsigned integer (the most significant bit MUST be 0) are the payload length."`
	ruleFragments      = `RFC 6455 §5.4: "A fragmented message consists of a single frame with the FIN bit clear and an opcode other than 0, ` +
		`followed by zero or more frames with the FIN bit clear and the opcode set to 0, and terminated by a single frame with the FIN bit set and an opcode of 0."`
	ruleInterleave = `RFC 6455 §5.4: "The fragments of one message MUST NOT be interleaved between the fragments of another message unless an extension has been negotiated that can interpret the interleaving."`
	ruleReceive    = `RFC 6455 §5.4: "Clients and servers MUST support receiving both fragmented and unfragmented messages."`
	ruleInjected   = `RFC 6455 §5.4: "Control frames (see Section 5.5) MAY be injected in the middle of a fragmented message." ` +
		`and "An endpoint MUST be capable of handling control frames in the middle of a fragmented message."`
	rulePing       = `RFC 6455 §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in response, unless it already received a Close frame."`
	rulePongData   = `RFC 6455 §5.5.3: "A Pong frame sent in response to a Ping frame must have identical "Application data" as found in the message body of the Ping frame being replied to."`
	rulePongSoon   = `RFC 6455 §5.5.2: "It SHOULD respond with Pong frame as soon as is practical."`
	rulePongLatest = `RFC 6455 §5.5.3: "If an endpoint receives a Ping frame and has not yet sent Pong frame(s) in response to previous Ping frame(s), ` +
		`the endpoint MAY elect to send a Pong frame for only the most recently processed Ping frame."`
	ruleUnsolicitedPong  = `RFC 6455 §5.5.3: "A Pong frame MAY be sent unsolicited. This serves as a unidirectional heartbeat. A response to an unsolicited Pong frame is not expected."`
	ruleCloseReply       = `RFC 6455 §5.5.1: "If an endpoint receives a Close frame and did not previously send a Close frame, the endpoint MUST send a Close frame in response."`
	ruleNoDataAfterClose = `RFC 6455 §5.5.1: "The application MUST NOT send any more data frames after sending a Close frame."`
	ruleServerCloseTCP   = `RFC 6455 §5.5.1: "The server MUST close the underlying TCP connection immediately"`
	ruleCloseBody        = `RFC 6455 §5.5.1: "If there is a body, the first two bytes of the body MUST be a 2-byte unsigned integer (in network byte order) ` +
		`representing a status code with value /code/ defined in Section 7.4."`
	ruleValidate   = `RFC 6455 §10.7: "Incoming data MUST always be validated by both clients and servers."`
	ruleCloseCodes = `RFC 6455 §7.4.2: codes 0-999 "are not used"; 1000-2999 "are reserved for definition by this protocol, its future revisions, and extensions"; ` +
		`§7.4.1: 1005 and 1006 "MUST NOT be set as a status code in a Close control frame by an endpoint"`
	ruleUTF8      = `RFC 6455 §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but finds that the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_."`
	ruleTextUTF8  = `RFC 6455 §5.6: "The "Payload data" is text data encoded as UTF-8. Note that a particular text frame might include a partial UTF-8 sequence; however, the whole message MUST contain valid UTF-8."`
	ruleFailClose = `RFC 6455 §7.1.7: "If _The WebSocket Connection is Established_ prior to the point where the endpoint is required to _Fail the WebSocket Connection_, ` +
		`the endpoint SHOULD send a Close frame with an appropriate status code (Section 7.4) before proceeding to _Close the WebSocket Connection_."`
	ruleLimits = `RFC 6455 §10.4: "Implementations that have implementation- and/or platform-specific limitations regarding the frame size or total message size ` +
		`after reassembly from multiple frames MUST protect themselves against exceeding those limits."`
	ruleHandshake = `RFC 6455 §4.2.1: the client's opening handshake is a GET of HTTP/1.1 or higher with Host, "Upgrade: websocket", "Connection: Upgrade", ` +
		`a Sec-WebSocket-Key that "when decoded, is 16 bytes in length", and "Sec-WebSocket-Version: 13"; §4.2.2: "If the server, while reading the handshake, ` +
		`finds that the client did not send a handshake that matches the description below ..., the server MUST stop processing the client's handshake and return an HTTP response with an appropriate error code (such as 400 Bad Request)."`
	ruleVersion = `RFC 6455 §4.4: "If the server doesn't support the requested version, it MUST respond with a |Sec-WebSocket-Version| header field ` +
		`(or multiple |Sec-WebSocket-Version| header fields) containing all versions it is willing to use."`
	ruleAccept = `RFC 6455 §4.2.2: the server's 101 response carries "Upgrade: websocket", "Connection: Upgrade" and "A |Sec-WebSocket-Accept| header field" ` +
		`whose value is the base64 of the SHA-1 of the key and the GUID.`
	ruleNoExtension = `RFC 6455 §9.1: "A server MUST NOT respond with any extension not requested by the client."`
	ruleH2Accept    = `RFC 8441 §5: "Upon receiving the request, if the server supports the WebSocket protocol, it ... sends a 2xx series status code"`
	ruleH2Protocol  = `RFC 8441 §5: "The :protocol pseudo-header field MUST be included in the CONNECT request, and it MUST have a value of websocket to initiate a WebSocket connection on an HTTP/2 stream."; ` +
		`RFC 6455 §4.2.2: a server that finds the handshake does not match "MUST stop processing the client's handshake and return an HTTP response with an appropriate error code"`

	rulePMDBit = `RFC 7692 §6.1: "An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and non-first fragments of a data message. ` +
		`An endpoint receiving such a frame MUST _Fail the WebSocket Connection_."`
	rulePMDInflate = `RFC 7692 §7.2.2: to decompress a message, "Append 4 octets of 0x00 0x00 0xff 0xff to the tail end of the payload of the message" ` +
		`and "Decompress the resulting data using DEFLATE."`
	rulePMDNegotiate = `RFC 7692 §7.1: the server's response holds permessage-deflate parameters valid for the offer it accepts ` +
		`(§7.1.2.2: without "client_max_window_bits" in the offer, the response "MUST NOT include the "client_max_window_bits" extension parameter")`
	rulePMDEcho = `RFC 7692 §6: permessage-deflate "operates only on data messages"; the decompressed payload is the message ` +
		`and RFC 6455 §5.4: "Clients and servers MUST support receiving both fragmented and unfragmented messages."`
)
