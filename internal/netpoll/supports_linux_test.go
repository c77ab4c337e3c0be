package netpoll

const supportsEpoll = true
