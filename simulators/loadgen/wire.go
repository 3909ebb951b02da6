package loadgen

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
)

// MQTT 3.1.1 control packet types (high nibble of the first byte).
const (
	pktConnect    = 1
	pktConnack    = 2
	pktPublish    = 3
	pktPuback     = 4
	pktSubscribe  = 8
	pktSuback     = 9
	pktPingreq    = 12
	pktPingresp   = 13
	pktDisconnect = 14
)

// ErrRefused is returned by Dial when the broker answers CONNECT with a non-zero return code.
var ErrRefused = errors.New("connection refused by broker")

// Conn is a minimal MQTT 3.1.1 client connection: CONNECT, PUBLISH at QoS 0 and 1,
// SUBSCRIBE, PINGREQ and DISCONNECT on the write side; ReadPacket on the read side. Writes
// are buffered: call Flush. A Conn is not safe for concurrent writers; one reader and one
// writer goroutine may run at the same time.
type Conn struct {
	nc net.Conn
	w  *bufio.Writer
	r  *bufio.Reader
}

// Credentials identify a client.
type Credentials struct {
	ClientID, Username, Password string
}

// Dial connects to addr (host:port), sends CONNECT with a clean session and keepAlive
// seconds (0 disables keep-alive), and waits for CONNACK.
func Dial(ctx context.Context, addr string, cred Credentials, keepAlive uint16) (*Conn, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", addr, err)
	}
	c := &Conn{nc: nc, w: bufio.NewWriterSize(nc, 32<<10), r: bufio.NewReaderSize(nc, 16<<10)}
	var vh []byte
	vh = appendString(vh, "MQTT")
	flags := byte(0x02) // clean session
	if cred.Username != "" {
		flags |= 0x80
	}
	if cred.Password != "" {
		flags |= 0x40
	}
	vh = append(vh, 4, flags, byte(keepAlive>>8), byte(keepAlive))
	vh = appendString(vh, cred.ClientID)
	if cred.Username != "" {
		vh = appendString(vh, cred.Username)
	}
	if cred.Password != "" {
		vh = appendString(vh, cred.Password)
	}
	c.w.WriteByte(pktConnect << 4)
	c.w.Write(appendVarint(nil, len(vh)))
	c.w.Write(vh)
	if err := c.Flush(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w", cred.ClientID, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = nc.SetReadDeadline(dl)
	} else {
		_ = nc.SetReadDeadline(time.Now().Add(30 * time.Second))
	}
	b0, body, err := c.ReadPacket()
	_ = nc.SetReadDeadline(time.Time{})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("connect %s: read connack: %w", cred.ClientID, err)
	}
	if packetType(b0) != pktConnack || len(body) < 2 {
		nc.Close()
		return nil, fmt.Errorf("connect %s: unexpected packet type %d instead of CONNACK", cred.ClientID, packetType(b0))
	}
	if body[1] != 0 {
		nc.Close()
		return nil, fmt.Errorf("connect %s: %w (return code %d)", cred.ClientID, ErrRefused, body[1])
	}
	return c, nil
}

// Close closes the network connection without DISCONNECT.
func (c *Conn) Close() error { return c.nc.Close() }

// Disconnect sends DISCONNECT and closes the connection.
func (c *Conn) Disconnect() error {
	c.w.Write([]byte{pktDisconnect << 4, 0})
	ferr := c.Flush()
	return errors.Join(ferr, c.nc.Close())
}

// Flush writes buffered packets to the network.
func (c *Conn) Flush() error { return c.w.Flush() }

// Publish buffers a PUBLISH; pid is used (and must be non-zero) at QoS 1 only.
func (c *Conn) Publish(topic string, payload []byte, qos byte, pid uint16) error {
	n := 2 + len(topic) + len(payload)
	if qos > 0 {
		n += 2
	}
	var hdr [16]byte
	h := append(hdr[:0], pktPublish<<4|qos<<1)
	h = appendVarint(h, n)
	h = append(h, byte(len(topic)>>8), byte(len(topic)))
	c.w.Write(h)
	c.w.WriteString(topic)
	if qos > 0 {
		c.w.Write([]byte{byte(pid >> 8), byte(pid)})
	}
	_, err := c.w.Write(payload)
	return err
}

// Subscribe buffers and flushes a SUBSCRIBE of filters at QoS qos with packet id pid.
func (c *Conn) Subscribe(pid uint16, qos byte, filters ...string) error {
	body := []byte{byte(pid >> 8), byte(pid)}
	for _, f := range filters {
		body = appendString(body, f)
		body = append(body, qos)
	}
	c.w.WriteByte(pktSubscribe<<4 | 0x02)
	c.w.Write(appendVarint(nil, len(body)))
	c.w.Write(body)
	return c.Flush()
}

// Ping buffers and flushes a PINGREQ.
func (c *Conn) Ping() error {
	c.w.Write([]byte{pktPingreq << 4, 0})
	return c.Flush()
}

// ReadPacket reads one control packet and returns its first byte (type and flags) and its
// body (variable header and payload). The body is valid until the next call.
func (c *Conn) ReadPacket() (b0 byte, body []byte, err error) {
	b0, err = c.r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, mult := 0, 1
	for i := 0; ; i++ {
		b, err := c.r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		n += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		if i == 3 {
			return 0, nil, errors.New("malformed remaining length")
		}
		mult *= 128
	}
	if n <= c.r.Size() {
		body, err = c.r.Peek(n)
		if err != nil {
			return 0, nil, err
		}
		_, _ = c.r.Discard(n)
		return b0, body, nil
	}
	body = make([]byte, n)
	if _, err := io.ReadFull(c.r, body); err != nil {
		return 0, nil, err
	}
	return b0, body, nil
}

// packetType returns the type nibble of a first byte.
func packetType(b0 byte) byte { return b0 >> 4 }

// parsePublish splits a PUBLISH body into topic and payload.
func parsePublish(b0 byte, body []byte) (topic, payload []byte, err error) {
	if len(body) < 2 {
		return nil, nil, errors.New("short publish")
	}
	tl := int(binary.BigEndian.Uint16(body))
	off := 2 + tl
	if (b0>>1)&3 > 0 {
		off += 2
	}
	if off > len(body) {
		return nil, nil, errors.New("short publish")
	}
	return body[2 : 2+tl], body[off:], nil
}

func appendString(b []byte, s string) []byte {
	b = append(b, byte(len(s)>>8), byte(len(s)))
	return append(b, s...)
}

func appendVarint(b []byte, n int) []byte {
	for {
		d := byte(n % 128)
		n /= 128
		if n > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if n == 0 {
			return b
		}
	}
}
