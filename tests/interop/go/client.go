// A stock grpc-go client (Debian golang-google-grpc-dev 1.33, built offline in
// GOPATH mode by run.sh) against libcsf's test_server
// (tests/interop/test_server.c).
//
//	client -pki DIR -tls PORT -h2c PORT
//
// Messages are encoded and decoded by hand with protowire (Debian
// golang-google-protobuf-dev) and carried by a pass-through codec, so no code
// generation is needed; the field numbers are those of
// libcsf/proto/csf/v1/agent.proto. Every check prints PASS or FAIL; the exit
// status is 1 if any check failed.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/ioutil"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protowire"
)

const (
	methodRegister = "/csf.v1.AgentService/RegisterAgent"
	methodStream   = "/csf.v1.AgentService/StreamMetrics"
)

// ------------------------------------------------------------------ codec

// rawCodec hands []byte through untouched: requests are passed as []byte,
// responses are read into a *[]byte.
type rawCodec struct{}

func (rawCodec) Marshal(v interface{}) ([]byte, error) {
	switch b := v.(type) {
	case []byte:
		return b, nil
	case *[]byte:
		return *b, nil
	}
	return nil, fmt.Errorf("rawCodec: cannot marshal %T", v)
}

func (rawCodec) Unmarshal(data []byte, v interface{}) error {
	b, ok := v.(*[]byte)
	if !ok {
		return fmt.Errorf("rawCodec: cannot unmarshal into %T", v)
	}
	*b = append((*b)[:0], data...)
	return nil
}

func (rawCodec) Name() string { return "proto" }

// --------------------------------------------------------------- messages

// RegisterAgentRequest{name = 4}
func registerRequest(name string) []byte {
	var b []byte
	b = protowire.AppendTag(b, 4, protowire.BytesType)
	return protowire.AppendString(b, name)
}

// AgentMessage{agent_id = 1, boot_id = 2, seq = 3, sent_at_ms = 4,
// heartbeat = 11 {outbox_depth = 1}}
func agentMessage(agentID, bootID string, seq uint64, depth uint64) []byte {
	var hb []byte
	hb = protowire.AppendTag(hb, 1, protowire.VarintType)
	hb = protowire.AppendVarint(hb, depth)
	var b []byte
	b = protowire.AppendTag(b, 1, protowire.BytesType)
	b = protowire.AppendString(b, agentID)
	b = protowire.AppendTag(b, 2, protowire.BytesType)
	b = protowire.AppendString(b, bootID)
	b = protowire.AppendTag(b, 3, protowire.VarintType)
	b = protowire.AppendVarint(b, seq)
	b = protowire.AppendTag(b, 4, protowire.VarintType)
	b = protowire.AppendVarint(b, uint64(time.Now().UnixMilli()))
	b = protowire.AppendTag(b, 11, protowire.BytesType)
	return protowire.AppendBytes(b, hb)
}

// field is one decoded top-level field: varint value or bytes.
type field struct {
	typ   protowire.Type
	v     uint64
	bytes []byte
}

// parse decodes one message level into number -> last occurrence.
func parse(b []byte) (map[protowire.Number]field, error) {
	out := map[protowire.Number]field{}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		f := field{typ: typ}
		switch typ {
		case protowire.VarintType:
			f.v, n = protowire.ConsumeVarint(b)
		case protowire.BytesType:
			f.bytes, n = protowire.ConsumeBytes(b)
		default:
			n = protowire.ConsumeFieldValue(num, typ, b)
		}
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		b = b[n:]
		out[num] = f
	}
	return out, nil
}

// RegisterAgentResponse{agent_id = 1, organization_id = 6}
func parseRegisterResponse(b []byte) (agentID, orgID string, err error) {
	f, err := parse(b)
	if err != nil {
		return "", "", fmt.Errorf("RegisterAgentResponse: %v", err)
	}
	return string(f[1].bytes), string(f[6].bytes), nil
}

type serverMessage struct {
	kind      string // "welcome", "ack" or "other"
	sessionID string // Welcome.session_id = 1
	seq       uint64 // Ack.seq = 1
	bootID    string // Ack.boot_id = 2
}

// ServerMessage{welcome = 10 {session_id = 1}, ack = 11 {seq = 1, boot_id = 2}}
func parseServerMessage(b []byte) (serverMessage, error) {
	f, err := parse(b)
	if err != nil {
		return serverMessage{}, fmt.Errorf("ServerMessage: %v", err)
	}
	if w, ok := f[10]; ok {
		wf, err := parse(w.bytes)
		if err != nil {
			return serverMessage{}, fmt.Errorf("Welcome: %v", err)
		}
		return serverMessage{kind: "welcome", sessionID: string(wf[1].bytes)}, nil
	}
	if a, ok := f[11]; ok {
		af, err := parse(a.bytes)
		if err != nil {
			return serverMessage{}, fmt.Errorf("Ack: %v", err)
		}
		return serverMessage{kind: "ack", seq: af[1].v, bootID: string(af[2].bytes)}, nil
	}
	return serverMessage{kind: "other"}, nil
}

// --------------------------------------------------------------- helpers

var (
	pki              string
	tlsPort, h2cPort int
)

func tlsConfig(clientCert bool) (*tls.Config, error) {
	caPEM, err := ioutil.ReadFile(filepath.Join(pki, "ca.pem"))
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, errors.New("ca.pem: no certificate")
	}
	cfg := &tls.Config{RootCAs: pool, ServerName: "localhost"}
	if clientCert {
		kp, err := tls.LoadX509KeyPair(filepath.Join(pki, "client.pem"), filepath.Join(pki, "client.key"))
		if err != nil {
			return nil, err
		}
		cfg.Certificates = []tls.Certificate{kp}
	}
	return cfg, nil
}

func dial(secure, clientCert bool) (*grpc.ClientConn, error) {
	opts := []grpc.DialOption{grpc.WithDefaultCallOptions(grpc.ForceCodec(rawCodec{}))}
	port := h2cPort
	if secure {
		cfg, err := tlsConfig(clientCert)
		if err != nil {
			return nil, err
		}
		opts = append(opts, grpc.WithTransportCredentials(credentials.NewTLS(cfg)))
		port = tlsPort
	} else {
		opts = append(opts, grpc.WithInsecure())
	}
	return grpc.Dial(fmt.Sprintf("127.0.0.1:%d", port), opts...)
}

func register(ctx context.Context, cc *grpc.ClientConn, name string, opts ...grpc.CallOption) (string, string, error) {
	var out []byte
	if err := cc.Invoke(ctx, methodRegister, registerRequest(name), &out, opts...); err != nil {
		return "", "", err
	}
	return parseRegisterResponse(out)
}

func openStream(ctx context.Context, cc *grpc.ClientConn) (grpc.ClientStream, error) {
	desc := &grpc.StreamDesc{StreamName: "StreamMetrics", ClientStreams: true, ServerStreams: true}
	return cc.NewStream(ctx, desc, methodStream)
}

func recv(s grpc.ClientStream) (serverMessage, error) {
	var b []byte
	if err := s.RecvMsg(&b); err != nil {
		return serverMessage{}, err
	}
	return parseServerMessage(b)
}

// wantStatus checks that err is a gRPC status with the given code (and, if
// msg is not empty, exactly that message).
func wantStatus(err error, code codes.Code, msg string) error {
	if err == nil {
		return fmt.Errorf("call succeeded, want status %v", code)
	}
	st, ok := status.FromError(err)
	if !ok {
		return fmt.Errorf("not a gRPC status (%T): %v", err, err)
	}
	if st.Code() != code {
		return fmt.Errorf("status %v %q, want %v", st.Code(), st.Message(), code)
	}
	if msg != "" && st.Message() != msg {
		return fmt.Errorf("status %v with message %q, want %q", st.Code(), st.Message(), msg)
	}
	return nil
}

func checkTLSState(p *peer.Peer, what string) error {
	if p.AuthInfo == nil {
		return fmt.Errorf("%s: no TLS auth info on the peer", what)
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return fmt.Errorf("%s: peer auth info is %T, not TLS", what, p.AuthInfo)
	}
	st := info.State
	if !st.HandshakeComplete {
		return fmt.Errorf("%s: TLS handshake not complete", what)
	}
	if st.Version != tls.VersionTLS13 {
		return fmt.Errorf("%s: negotiated TLS version 0x%04x, want TLS 1.3 (0x0304)", what, st.Version)
	}
	if st.NegotiatedProtocol != "h2" {
		return fmt.Errorf("%s: ALPN selected %q, want \"h2\"", what, st.NegotiatedProtocol)
	}
	return nil
}

// ---------------------------------------------------------------- checks

type checks struct {
	h2c, tlsNoCert, mtls *grpc.ClientConn
}

// 1. Unary RegisterAgent over h2c and over TLS 1.3 (server cert checked
// against ca.pem, no client cert); TLS 1.3 + ALPN h2 seen by grpc-go.
func (c *checks) unaryH2C() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	id, _, err := register(ctx, c.h2c, "go-h2c")
	if err != nil {
		return err
	}
	if id != "agent-go-h2c" {
		return fmt.Errorf("agent_id %q, want %q", id, "agent-go-h2c")
	}
	return nil
}

func (c *checks) unaryTLS() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "x-org", "org-go")
	var p peer.Peer
	id, org, err := register(ctx, c.tlsNoCert, "go-tls", grpc.Peer(&p))
	if err != nil {
		return err
	}
	if id != "agent-go-tls" {
		return fmt.Errorf("agent_id %q, want %q", id, "agent-go-tls")
	}
	if org != "org-go" {
		return fmt.Errorf("organization_id %q (from x-org metadata), want %q", org, "org-go")
	}
	return checkTLSState(&p, "TLS channel")
}

// TLS 1.3 and ALPN h2 on a plain crypto/tls dial too (independent of grpc-go).
func (c *checks) tlsHandshake() error {
	cfg, err := tlsConfig(true)
	if err != nil {
		return err
	}
	cfg.NextProtos = []string{"h2"}
	conn, err := tls.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", tlsPort), cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	st := conn.ConnectionState()
	if st.Version != tls.VersionTLS13 {
		return fmt.Errorf("negotiated TLS version 0x%04x, want TLS 1.3", st.Version)
	}
	if st.NegotiatedProtocol != "h2" {
		return fmt.Errorf("ALPN selected %q, want \"h2\"", st.NegotiatedProtocol)
	}
	return nil
}

// 2. Bidirectional StreamMetrics over mutual TLS: Welcome(session_id = CN),
// then Acks 1..100 in order, half-close, status OK.
func (c *checks) stream() error {
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	s, err := openStream(ctx, c.mtls)
	if err != nil {
		return fmt.Errorf("NewStream: %v", err)
	}
	sendErr := make(chan error, 1)
	go func() {
		for i := uint64(1); i <= n; i++ {
			if err := s.SendMsg(agentMessage("go-agent", "go-boot", i, n-i)); err != nil {
				sendErr <- fmt.Errorf("SendMsg %d: %v", i, err)
				return
			}
		}
		sendErr <- s.CloseSend()
	}()
	m, err := recv(s)
	if err != nil {
		return fmt.Errorf("first message: %v", err)
	}
	if m.kind != "welcome" {
		return fmt.Errorf("first message is %q, want welcome", m.kind)
	}
	if m.sessionID != "agent-1" {
		return fmt.Errorf("welcome.session_id %q, want %q (the client certificate's CN)", m.sessionID, "agent-1")
	}
	for i := uint64(1); i <= n; i++ {
		m, err := recv(s)
		if err != nil {
			return fmt.Errorf("waiting for ack %d: %v", i, err)
		}
		if m.kind != "ack" || m.seq != i || m.bootID != "go-boot" {
			return fmt.Errorf("message %d: got %+v, want ack seq=%d boot_id=go-boot", i, m, i)
		}
	}
	if err := <-sendErr; err != nil {
		return err
	}
	var extra []byte
	if err := s.RecvMsg(&extra); err != io.EOF {
		if err == nil {
			return fmt.Errorf("unexpected message after the last ack (%d bytes)", len(extra))
		}
		return fmt.Errorf("end of stream: %v (want status OK)", err)
	}
	p, ok := peer.FromContext(s.Context())
	if !ok {
		return errors.New("no peer on the stream context")
	}
	return checkTLSState(p, "mTLS channel")
}

// 3. Deadline: one message from "silent" (never answered), 300 ms timeout.
func (c *checks) deadline() error {
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	s, err := openStream(ctx, c.mtls)
	if err != nil {
		return fmt.Errorf("NewStream: %v", err)
	}
	if err := s.SendMsg(agentMessage("silent", "b", 1, 0)); err != nil && err != io.EOF {
		return fmt.Errorf("SendMsg: %v", err)
	}
	for i := 0; ; i++ {
		m, err := recv(s)
		if err != nil {
			if e := wantStatus(err, codes.DeadlineExceeded, ""); e != nil {
				return e
			}
			break
		}
		if i > 0 || m.kind != "welcome" {
			return fmt.Errorf("silent stream answered: %+v", m)
		}
	}
	if d := time.Since(start); d < 250*time.Millisecond || d > 3*time.Second {
		return fmt.Errorf("deadline hit after %v, want about 300ms", d)
	}
	return nil
}

// 4. Unknown method: UNIMPLEMENTED (h2c and TLS).
func (c *checks) unimplemented() error {
	for _, cc := range []*grpc.ClientConn{c.h2c, c.mtls} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		var out []byte
		err := cc.Invoke(ctx, "/csf.v1.AgentService/Nope", []byte{}, &out)
		cancel()
		if e := wantStatus(err, codes.Unimplemented, ""); e != nil {
			return fmt.Errorf("%s: %v", cc.Target(), e)
		}
	}
	return nil
}

// 5. StreamMetrics without a client certificate: UNAUTHENTICATED.
func (c *checks) unauthenticated() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := openStream(ctx, c.tlsNoCert)
	if err != nil {
		return wantStatus(err, codes.Unauthenticated, "")
	}
	// The server may end the call before it reads anything: SendMsg then
	// returns io.EOF and RecvMsg has the status.
	if err := s.SendMsg(agentMessage("a", "b", 1, 0)); err != nil && err != io.EOF {
		return fmt.Errorf("SendMsg: %v", err)
	}
	s.CloseSend()
	m, err := recv(s)
	if err == nil {
		return fmt.Errorf("stream without a client certificate answered: %+v", m)
	}
	if e := wantStatus(err, codes.Unauthenticated, ""); e != nil {
		return e
	}
	fmt.Printf("      (server said: %q)\n", status.Convert(err).Message())
	return nil
}

// 6. A handler's status and message reach the client: "fail-7".
func (c *checks) statusPassthrough() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	s, err := openStream(ctx, c.mtls)
	if err != nil {
		return fmt.Errorf("NewStream: %v", err)
	}
	if err := s.SendMsg(agentMessage("fail-7", "b", 1, 0)); err != nil && err != io.EOF {
		return fmt.Errorf("SendMsg: %v", err)
	}
	for i := 0; ; i++ {
		m, err := recv(s)
		if err != nil {
			return wantStatus(err, codes.PermissionDenied, "failed as asked")
		}
		if i > 0 || m.kind != "welcome" {
			return fmt.Errorf("fail-7 stream answered: %+v", m)
		}
	}
}

// 7. A 5 MiB request (server limit 4 MiB): RESOURCE_EXHAUSTED; the
// connection stays usable.
func (c *checks) oversized() error {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, _, err := register(ctx, c.mtls, strings.Repeat("x", 5<<20), grpc.MaxCallSendMsgSize(16<<20))
	if e := wantStatus(err, codes.ResourceExhausted, ""); e != nil {
		return e
	}
	id, _, err := register(ctx, c.mtls, "after-big")
	if err != nil {
		return fmt.Errorf("call after the oversized one: %v", err)
	}
	if id != "agent-after-big" {
		return fmt.Errorf("call after the oversized one: agent_id %q", id)
	}
	return nil
}

// 8. 100 concurrent unary calls on one ClientConn.
func (c *checks) concurrent() error {
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			name := fmt.Sprintf("n%d", i)
			id, _, err := register(ctx, c.mtls, name)
			if err == nil && id != "agent-"+name {
				err = fmt.Errorf("agent_id %q, want %q", id, "agent-"+name)
			}
			errs[i] = err
		}(i)
	}
	wg.Wait()
	failed := 0
	var first error
	for i, err := range errs {
		if err != nil {
			if first == nil {
				first = fmt.Errorf("call %d: %v", i, err)
			}
			failed++
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d calls failed; first: %v", failed, n, first)
	}
	return nil
}

func main() {
	flag.StringVar(&pki, "pki", "", "directory with ca.pem, client.pem, client.key")
	flag.IntVar(&tlsPort, "tls", 0, "test_server's TLS port")
	flag.IntVar(&h2cPort, "h2c", 0, "test_server's h2c port")
	flag.Parse()
	if pki == "" || tlsPort == 0 || h2cPort == 0 {
		fmt.Fprintln(os.Stderr, "usage: client -pki DIR -tls PORT -h2c PORT")
		os.Exit(2)
	}
	// A hang anywhere is a failure, not a stuck test.
	time.AfterFunc(60*time.Second, func() {
		fmt.Fprintln(os.Stderr, "grpc-go client: FAIL: checks did not finish within 60 s")
		os.Exit(1)
	})

	var c checks
	var err error
	if c.h2c, err = dial(false, false); err == nil {
		if c.tlsNoCert, err = dial(true, false); err == nil {
			c.mtls, err = dial(true, true)
		}
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "grpc-go client: FAIL: dial: %v\n", err)
		os.Exit(1)
	}

	list := []struct {
		name string
		fn   func() error
	}{
		{"unary RegisterAgent over h2c", c.unaryH2C},
		{"unary RegisterAgent over TLS 1.3 (ALPN h2, metadata)", c.unaryTLS},
		{"crypto/tls handshake: TLS 1.3, ALPN h2", c.tlsHandshake},
		{"bidi StreamMetrics over mTLS: welcome + 100 acks in order, status OK", c.stream},
		{"deadline 300 ms on a silent stream: DEADLINE_EXCEEDED", c.deadline},
		{"unknown method: UNIMPLEMENTED", c.unimplemented},
		{"StreamMetrics without client certificate: UNAUTHENTICATED", c.unauthenticated},
		{"handler status fail-7: PERMISSION_DENIED \"failed as asked\"", c.statusPassthrough},
		{"5 MiB request: RESOURCE_EXHAUSTED", c.oversized},
		{"100 concurrent unary calls on one ClientConn", c.concurrent},
	}
	failed := 0
	for _, t := range list {
		start := time.Now()
		if err := t.fn(); err != nil {
			failed++
			fmt.Printf("FAIL  %s: %v\n", t.name, err)
		} else {
			fmt.Printf("PASS  %s (%v)\n", t.name, time.Since(start).Round(time.Millisecond))
		}
	}
	c.h2c.Close()
	c.tlsNoCert.Close()
	c.mtls.Close()
	if failed > 0 {
		fmt.Printf("grpc-go client: %d of %d checks FAILED\n", failed, len(list))
		os.Exit(1)
	}
	fmt.Printf("grpc-go client: all %d checks passed\n", len(list))
}
