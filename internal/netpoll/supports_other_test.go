//go:build !linux

package netpoll

const supportsEpoll = false
