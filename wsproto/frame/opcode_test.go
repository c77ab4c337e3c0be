package frame

import "testing"

func TestOpcode(t *testing.T) {
	// Every 4-bit opcode of RFC 6455 §5.2 and two values that do not fit.
	tests := []struct {
		op       Opcode
		control  bool
		reserved bool
		str      string
	}{
		{0x0, false, false, "continuation"},
		{0x1, false, false, "text"},
		{0x2, false, false, "binary"},
		{0x3, false, true, "reserved(0x3)"},
		{0x4, false, true, "reserved(0x4)"},
		{0x5, false, true, "reserved(0x5)"},
		{0x6, false, true, "reserved(0x6)"},
		{0x7, false, true, "reserved(0x7)"},
		{0x8, true, false, "close"},
		{0x9, true, false, "ping"},
		{0xA, true, false, "pong"},
		{0xB, true, true, "reserved(0xb)"},
		{0xC, true, true, "reserved(0xc)"},
		{0xD, true, true, "reserved(0xd)"},
		{0xE, true, true, "reserved(0xe)"},
		{0xF, true, true, "reserved(0xf)"},
		{0x10, false, true, "invalid(0x10)"},
		{0xFF, true, true, "invalid(0xff)"},
	}
	for _, tt := range tests {
		t.Run(tt.str, func(t *testing.T) {
			if got := tt.op.IsControl(); got != tt.control {
				t.Errorf("Opcode(%#x).IsControl() = %v, want %v", byte(tt.op), got, tt.control)
			}
			if got := tt.op.IsReserved(); got != tt.reserved {
				t.Errorf("Opcode(%#x).IsReserved() = %v, want %v", byte(tt.op), got, tt.reserved)
			}
			if got := tt.op.String(); got != tt.str {
				t.Errorf("Opcode(%#x).String() = %q, want %q", byte(tt.op), got, tt.str)
			}
		})
	}
}

func TestOpcodeConstants(t *testing.T) {
	// The wire values of RFC 6455 §11.8.
	tests := []struct {
		op   Opcode
		wire byte
	}{
		{OpContinuation, 0x0},
		{OpText, 0x1},
		{OpBinary, 0x2},
		{OpClose, 0x8},
		{OpPing, 0x9},
		{OpPong, 0xA},
	}
	for _, tt := range tests {
		if byte(tt.op) != tt.wire {
			t.Errorf("%v = %#x, want %#x", tt.op, byte(tt.op), tt.wire)
		}
	}
}
