package main

import (
	"bufio"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/clnrest/clnrest/internal/lightningdtest"
)

// registerBenchCommands replaces two of the simulator's commands for the
// large-result and isolation phases:
//
//   - listinvoices {"limit": n} streams n paid invoices shaped like
//     lightningd's, generated on the fly (so a 200 MB result costs the
//     simulator no memory);
//   - waitanyinvoice {"timeout": s} blocks s seconds (default 30), as a
//     waitanyinvoice does until an invoice is paid, then answers with one.
func registerBenchCommands(rpc *lightningdtest.RPCServer) {
	rpc.HandleStream("listinvoices", "[limit]", streamInvoices)
	rpc.Handle("waitanyinvoice", "[lastpay_index] [timeout]", waitAnyInvoice)
}

// invoiceBolt11 stands in for a bolt11 string of typical length.
var invoiceBolt11 = "lnbcrt10u1pn" + strings.Repeat("q9x7dwe3", 45)

// appendInvoice appends invoice i as lightningd's listinvoices writes it.
func appendInvoice(b []byte, i uint64) []byte {
	var hash [32]byte
	for j := range 8 {
		hash[j] = byte(i >> (8 * j))
	}
	b = append(b, `{"label":"bench-`...)
	b = strconv.AppendUint(b, i, 10)
	b = append(b, `","bolt11":"`...)
	b = append(b, invoiceBolt11...)
	b = append(b, `","payment_hash":"`...)
	b = hex.AppendEncode(b, hash[:])
	b = append(b, `","amount_msat":`...)
	b = strconv.AppendUint(b, 1000000+i, 10)
	b = append(b, `,"status":"paid","pay_index":`...)
	b = strconv.AppendUint(b, i+1, 10)
	b = append(b, `,"amount_received_msat":`...)
	b = strconv.AppendUint(b, 1000000+i, 10)
	b = append(b, `,"paid_at":1760000000,"payment_preimage":"`...)
	b = hex.AppendEncode(b, hash[:])
	b = append(b, `","description":"coffee and a croissant","expires_at":1760604800,"created_index":`...)
	b = strconv.AppendUint(b, i+1, 10)
	b = append(b, `,"updated_index":`...)
	b = strconv.AppendUint(b, i+1, 10)
	return append(b, '}')
}

// invoicesFor returns how many invoices make a listinvoices result of
// about size bytes.
func invoicesFor(size int64) uint64 {
	per := int64(len(appendInvoice(nil, 1000000)) + 1)
	return uint64(max(size/per, 1))
}

// streamInvoices writes {"invoices":[...]} with params.limit invoices.
func streamInvoices(ctx context.Context, params json.RawMessage, w io.Writer) error {
	var p struct {
		Limit uint64 `json:"limit"`
	}
	if err := json.Unmarshal(params, &p); err != nil {
		return &lightningdtest.RPCError{Code: -32602, Message: "limit: should be an unsigned 64 bit integer"}
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	if _, err := bw.WriteString(`{"invoices":[`); err != nil {
		return err
	}
	buf := make([]byte, 0, 1024)
	for i := range p.Limit {
		if i%4096 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		buf = buf[:0]
		if i > 0 {
			buf = append(buf, ',')
		}
		if _, err := bw.Write(appendInvoice(buf, i)); err != nil {
			return err
		}
	}
	if _, err := bw.WriteString(`]}`); err != nil {
		return err
	}
	return bw.Flush()
}

// waitAnyInvoice blocks for params.timeout seconds (default 30) or until
// the simulator stops, then answers with a paid invoice.
func waitAnyInvoice(ctx context.Context, params json.RawMessage) (json.RawMessage, error) {
	p := struct {
		Timeout uint64 `json:"timeout"`
	}{Timeout: 30}
	_ = json.Unmarshal(params, &p) // absent or odd params: the default
	t := time.NewTimer(time.Duration(p.Timeout) * time.Second)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	return appendInvoice(nil, 0), nil
}
