package jt808

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Frame delimiters and escapes (JT/T 808 4.4.1).
const (
	flag   = 0x7e
	escape = 0x7d
)

// Header body-attribute bits.
const (
	attrLenMask    = 0x03ff
	attrEncryptRSA = 1 << 10
	attrSubpackage = 1 << 13
	attrVersion    = 1 << 14 // set in the 2019 version
)

// MaxBody is the longest message body one packet may carry (10 bits of length).
const MaxBody = attrLenMask

// MaxFrame bounds an escaped frame between its delimiters: header, 1023-byte body and
// checksum, every byte escaped.
const MaxFrame = 2 * (17 + 4 + MaxBody + 1)

// Version is the protocol version of a packet.
type Version int

// Versions.
const (
	V2013 Version = 2013 // also 2011: the 2013 header
	V2019 Version = 2019
)

// Header is a message header.
type Header struct {
	MsgID   uint16
	Version Version
	// ProtocolVersion is the 2019 header's protocol version byte (1 for 2019).
	ProtocolVersion byte
	// Phone is the terminal's phone number / id: 12 BCD digits (2013) or 20 (2019), leading
	// zeros removed.
	Phone   string
	Serial  uint16
	Encrypt bool
	// Total and Index are the sub-package count and this package's 1-based index; 0 when the
	// message is not split.
	Total, Index uint16
}

// Packet is one decoded frame.
type Packet struct {
	Header
	Body []byte
}

// Errors of the codec. Each decode error wraps one of these, so callers count by kind.
var (
	ErrFrame    = errors.New("malformed frame")
	ErrEscape   = errors.New("bad escape")
	ErrChecksum = errors.New("checksum mismatch")
	ErrHeader   = errors.New("bad header")
	ErrBody     = errors.New("bad body")
)

// Unescape reverses the escaping of the bytes between two delimiters into dst.
func Unescape(dst, src []byte) ([]byte, error) {
	for i := 0; i < len(src); i++ {
		b := src[i]
		switch b {
		case flag:
			return nil, fmt.Errorf("%w: 0x7e inside a frame", ErrEscape)
		case escape:
			if i+1 >= len(src) {
				return nil, fmt.Errorf("%w: 0x7d at the end", ErrEscape)
			}
			i++
			switch src[i] {
			case 0x01:
				dst = append(dst, escape)
			case 0x02:
				dst = append(dst, flag)
			default:
				return nil, fmt.Errorf("%w: 0x7d 0x%02x", ErrEscape, src[i])
			}
		default:
			dst = append(dst, b)
		}
	}
	return dst, nil
}

// Escape appends src to dst with 0x7e and 0x7d escaped.
func Escape(dst, src []byte) []byte {
	for _, b := range src {
		switch b {
		case flag:
			dst = append(dst, escape, 0x02)
		case escape:
			dst = append(dst, escape, 0x01)
		default:
			dst = append(dst, b)
		}
	}
	return dst
}

// Checksum is the XOR of b.
func Checksum(b []byte) byte {
	var c byte
	for _, x := range b {
		c ^= x
	}
	return c
}

// Decode decodes one frame's escaped content (the bytes between the two 0x7e).
func Decode(escaped []byte) (*Packet, error) {
	if len(escaped) > MaxFrame {
		return nil, fmt.Errorf("%w: %d bytes, more than %d", ErrFrame, len(escaped), MaxFrame)
	}
	raw, err := Unescape(make([]byte, 0, len(escaped)), escaped)
	if err != nil {
		return nil, err
	}
	if len(raw) < 13 {
		return nil, fmt.Errorf("%w: %d bytes, shorter than a header and checksum", ErrFrame, len(raw))
	}
	if sum := Checksum(raw[:len(raw)-1]); sum != raw[len(raw)-1] {
		return nil, fmt.Errorf("%w: computed 0x%02x, frame has 0x%02x", ErrChecksum, sum, raw[len(raw)-1])
	}
	raw = raw[:len(raw)-1]
	p := &Packet{}
	p.MsgID = binary.BigEndian.Uint16(raw)
	attr := binary.BigEndian.Uint16(raw[2:])
	n := 4
	if attr&attrVersion != 0 {
		p.Version = V2019
		if len(raw) < 17 {
			return nil, fmt.Errorf("%w: 2019 header needs 17 bytes, have %d", ErrHeader, len(raw))
		}
		p.ProtocolVersion = raw[4]
		p.Phone, err = decodeBCD(raw[5:15])
		n = 15
	} else {
		p.Version = V2013
		p.Phone, err = decodeBCD(raw[4:10])
		n = 10
	}
	if err != nil {
		return nil, fmt.Errorf("%w: phone: %v", ErrHeader, err)
	}
	p.Serial = binary.BigEndian.Uint16(raw[n:])
	n += 2
	p.Encrypt = attr&attrEncryptRSA != 0
	if attr&attrSubpackage != 0 {
		if len(raw) < n+4 {
			return nil, fmt.Errorf("%w: sub-package fields missing", ErrHeader)
		}
		p.Total, p.Index = binary.BigEndian.Uint16(raw[n:]), binary.BigEndian.Uint16(raw[n+2:])
		n += 4
		if p.Total == 0 || p.Index == 0 || p.Index > p.Total {
			return nil, fmt.Errorf("%w: sub-package %d of %d", ErrHeader, p.Index, p.Total)
		}
	}
	if want := int(attr & attrLenMask); len(raw)-n != want {
		return nil, fmt.Errorf("%w: body is %d bytes, header says %d", ErrHeader, len(raw)-n, want)
	}
	p.Body = raw[n:]
	return p, nil
}

// Encode returns the complete frame of p, delimiters included.
func Encode(p *Packet) ([]byte, error) {
	if len(p.Body) > MaxBody {
		return nil, fmt.Errorf("%w: body of %d bytes, more than %d (split it)", ErrBody, len(p.Body), MaxBody)
	}
	attr := uint16(len(p.Body))
	if p.Encrypt {
		attr |= attrEncryptRSA
	}
	if p.Total > 0 {
		attr |= attrSubpackage
	}
	raw := make([]byte, 0, 21+len(p.Body))
	raw = binary.BigEndian.AppendUint16(raw, p.MsgID)
	var err error
	if p.Version == V2019 {
		attr |= attrVersion
		raw = binary.BigEndian.AppendUint16(raw, attr)
		pv := p.ProtocolVersion
		if pv == 0 {
			pv = 1
		}
		raw = append(raw, pv)
		raw, err = appendBCD(raw, p.Phone, 10)
	} else {
		raw = binary.BigEndian.AppendUint16(raw, attr)
		raw, err = appendBCD(raw, p.Phone, 6)
	}
	if err != nil {
		return nil, fmt.Errorf("%w: phone: %v", ErrHeader, err)
	}
	raw = binary.BigEndian.AppendUint16(raw, p.Serial)
	if p.Total > 0 {
		raw = binary.BigEndian.AppendUint16(raw, p.Total)
		raw = binary.BigEndian.AppendUint16(raw, p.Index)
	}
	raw = append(raw, p.Body...)
	raw = append(raw, Checksum(raw))
	out := make([]byte, 0, len(raw)+len(raw)/8+2)
	out = append(out, flag)
	out = Escape(out, raw)
	return append(out, flag), nil
}

// decodeBCD decodes packed BCD digits, leading zeros removed ("0" when all are zero).
func decodeBCD(b []byte) (string, error) {
	out := make([]byte, 0, 2*len(b))
	for _, x := range b {
		hi, lo := x>>4, x&0x0f
		if hi > 9 || lo > 9 {
			return "", fmt.Errorf("0x%02x is not BCD", x)
		}
		out = append(out, '0'+hi, '0'+lo)
	}
	i := 0
	for i < len(out)-1 && out[i] == '0' {
		i++
	}
	return string(out[i:]), nil
}

// appendBCD appends digits as n packed BCD bytes, left-padded with zeros.
func appendBCD(dst []byte, digits string, n int) ([]byte, error) {
	if len(digits) > 2*n {
		return nil, fmt.Errorf("%q has more than %d digits", digits, 2*n)
	}
	pad := 2*n - len(digits)
	d := make([]byte, 0, 2*n)
	for range pad {
		d = append(d, 0)
	}
	for i := 0; i < len(digits); i++ {
		c := digits[i]
		if c < '0' || c > '9' {
			return nil, fmt.Errorf("%q is not all digits", digits)
		}
		d = append(d, c-'0')
	}
	for i := 0; i < len(d); i += 2 {
		dst = append(dst, d[i]<<4|d[i+1])
	}
	return dst, nil
}
