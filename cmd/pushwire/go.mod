module github.com/pushwire/pushwire/cmd/pushwire

go 1.26.0

replace (
	github.com/pushwire/pushwire => ../..
	github.com/pushwire/pushwire/engines/jetstream => ../../engines/jetstream
)

require (
	github.com/pushwire/pushwire v0.0.0
	github.com/pushwire/pushwire/engines/jetstream v0.0.0
)

require (
	github.com/klauspost/compress v1.20.3 // indirect
	github.com/nats-io/nats.go v1.55.0 // indirect
	github.com/nats-io/nkeys v0.4.16 // indirect
	github.com/nats-io/nuid v1.0.1 // indirect
	golang.org/x/crypto v0.58.0 // indirect
	golang.org/x/sys v0.49.0 // indirect
)
