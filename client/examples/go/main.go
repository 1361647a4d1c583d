// Command esgw-example calls esgw from Go with grpc-go: it checks the gateway's health, searches
// the products index, writes two documents with Bulk and streams 1,000 more through Ingest.
//
// Env: ESGW_ADDR (gRPC target, default 127.0.0.1:50051), ESGW_TOKEN (optional bearer token).
// Needs the package generated from proto/esgw/v1/*.proto; see README.md.
//
// Exits 0 when every step worked; otherwise prints what failed (with the gRPC status code and
// message for a failed call) and exits 1.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	esgwv1 "example.com/esgw-example/esgwv1"
)

// Deadlines. Every call gets one: without it a call to a stuck server waits forever.
const (
	unaryTimeout  = 10 * time.Second
	bulkTimeout   = 30 * time.Second
	ingestTimeout = 60 * time.Second
)

const (
	scratchIndex        = "esgw-example-go"
	ingestDocs          = 1000
	ingestOpsPerMessage = 100
)

// serviceConfig asks for round_robin over every address the resolver returns. With a single
// address (as by default) it behaves like the default pick_first.
const serviceConfig = `{"loadBalancingConfig": [{"round_robin": {}}]}`

// bearerToken sends "authorization: Bearer <token>" with every call.
type bearerToken string

func (t bearerToken) GetRequestMetadata(ctx context.Context, uri ...string) (map[string]string, error) {
	return map[string]string{"authorization": "Bearer " + string(t)}, nil
}

// RequireTransportSecurity is false so that the example also works over plaintext. With TLS
// (credentials.NewTLS instead of insecure.NewCredentials), return true: a token is then never
// sent in the clear.
func (bearerToken) RequireTransportSecurity() bool { return false }

func main() {
	os.Exit(run())
}

func run() int {
	// Any gRPC target. Against several esgw replicas behind a headless Kubernetes Service, use
	// "dns:///esgw-headless.<namespace>.svc.cluster.local:50051": the DNS resolver returns every
	// ready pod and the round_robin policy spreads calls over all of them (a plain ClusterIP
	// Service would pin this client to one replica per connection).
	target := os.Getenv("ESGW_ADDR")
	if target == "" {
		target = "127.0.0.1:50051"
	}
	options := []grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultServiceConfig(serviceConfig),
	}
	if token := os.Getenv("ESGW_TOKEN"); token != "" {
		options = append(options, grpc.WithPerRPCCredentials(bearerToken(token)))
	}
	// NewClient connects lazily, on the first call. One connection serves both services.
	conn, err := grpc.NewClient(target, options...)
	if err != nil {
		fmt.Fprintf(os.Stderr, "error: %s: %v\n", target, err)
		return 1
	}
	defer conn.Close()
	admin := esgwv1.NewAdminClient(conn)
	gateway := esgwv1.NewGatewayClient(conn)

	ctx := context.Background()
	steps := []struct {
		method string
		run    func() error
	}{
		{"GetHealth", func() error { return printHealth(ctx, admin) }},
		{"Search", func() error { return search(ctx, gateway) }},
		{"Bulk", func() error { return bulk(ctx, gateway) }},
		{"Ingest", func() error { return ingest(ctx, gateway) }},
	}
	for _, step := range steps {
		if err := step.run(); err != nil {
			// A failed call carries a gRPC status: e.g. Unavailable when esgw cannot be reached
			// or has no Elasticsearch node to use, DeadlineExceeded, InvalidArgument for a bad
			// request. Any other error is the example's own check.
			if st, ok := status.FromError(err); ok {
				fmt.Fprintf(os.Stderr, "error: %s: %s (%d): %s\n",
					step.method, st.Code(), st.Code(), st.Message())
			} else {
				fmt.Fprintf(os.Stderr, "error: %v\n", err)
			}
			return 1
		}
	}
	return 0
}

func printHealth(ctx context.Context, admin esgwv1.AdminClient) error {
	ctx, cancel := context.WithTimeout(ctx, unaryTimeout)
	defer cancel()
	// GetHealth answers even when esgw has no usable Elasticsearch node: Status says whether it
	// can serve (GATEWAY_STATUS_SERVING) or not (GATEWAY_STATUS_NOT_SERVING).
	report, err := admin.GetHealth(ctx, &esgwv1.GetHealthRequest{})
	if err != nil {
		return err
	}
	cluster := "cluster " + report.GetCluster().GetStatus()
	if e := report.GetCluster().GetError(); e != "" {
		cluster = "cluster health unknown: " + e
	}
	fmt.Printf("health: %s (esgw %s, %d nodes alive, %s)\n",
		report.GetStatus(), report.GetVersion(), report.GetPool().GetAlive(), cluster)
	return nil
}

func search(ctx context.Context, gateway esgwv1.GatewayClient) error {
	ctx, cancel := context.WithTimeout(ctx, unaryTimeout)
	defer cancel()
	// The body is Elasticsearch's search body, as JSON text (or as a structpb.Struct in
	// SearchRequest_BodyStruct).
	body := `{"query": {"match": {"name": "lamp"}}, "size": 5}`
	resp, err := gateway.Search(ctx, &esgwv1.SearchRequest{
		Indices: []string{"products"},
		Body:    &esgwv1.SearchRequest_BodyJson{BodyJson: body},
	})
	if err != nil {
		return err
	}
	total := "untracked"
	if t := resp.GetTotal(); t != nil {
		total = fmt.Sprint(t.GetValue())
		if t.GetRelation() == esgwv1.TotalHits_RELATION_GTE {
			total += "+"
		}
	}
	fmt.Printf("search: %d hits of %s for name:lamp, took %d ms, served by %s\n",
		len(resp.GetHits()), total, resp.GetTookMs(), resp.GetServedBy())
	for _, hit := range resp.GetHits() {
		// SourceJson holds the document's _source exactly as Elasticsearch returned it.
		var source struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal([]byte(hit.GetSourceJson()), &source); err != nil {
			return fmt.Errorf("search: hit %s: %w", hit.GetId(), err)
		}
		fmt.Printf("  %s  %s\n", hit.GetId(), source.Name)
	}
	return nil
}

// product is the document the Bulk step writes.
type product struct {
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func bulk(ctx context.Context, gateway esgwv1.GatewayClient) error {
	ctx, cancel := context.WithTimeout(ctx, bulkTimeout)
	defer cancel()
	docs := []struct {
		id  string
		doc product
	}{
		{"example-1", product{Name: "Example Lamp", Price: 19.5}},
		{"example-2", product{Name: "Example Kettle", Price: 34}},
	}
	req := &esgwv1.BulkRequest{
		Index: scratchIndex,
		// Answer once a refresh has made the documents visible to search.
		Refresh: esgwv1.Refresh_REFRESH_WAIT_FOR,
	}
	for i, d := range docs {
		source, err := json.Marshal(d.doc)
		if err != nil {
			return err
		}
		req.Ops = append(req.Ops, &esgwv1.BulkOp{
			Type:       esgwv1.OpType_OP_TYPE_INDEX,
			Id:         d.id,
			SourceJson: string(source),
			Seq:        uint64(i + 1), // echoed back in the item's result
		})
	}
	resp, err := gateway.Bulk(ctx, req)
	if err != nil {
		return err
	}
	// A failed item does not fail the call: check every item. Items come back in request order.
	ok := 0
	for _, item := range resp.GetItems() {
		if e := item.GetError(); e != nil {
			fmt.Fprintf(os.Stderr, "bulk: item seq=%d id=%s failed with %d: %s: %s\n",
				item.GetSeq(), item.GetId(), item.GetStatus(), e.GetType(), e.GetReason())
			continue
		}
		ok++
	}
	fmt.Printf("bulk: %d of %d items ok in %s\n", ok, len(docs), scratchIndex)
	if ok != len(docs) {
		return fmt.Errorf("bulk: %d items failed", len(docs)-ok)
	}
	return nil
}

func ingest(ctx context.Context, gateway esgwv1.GatewayClient) error {
	ctx, cancel := context.WithTimeout(ctx, ingestTimeout)
	// Cancelling also ends the stream, and with it the sending goroutine, on an early return.
	defer cancel()
	stream, err := gateway.Ingest(ctx)
	if err != nil {
		return err
	}

	// Send from a goroutine while this one receives: esgw streams results back while it reads,
	// and holds only a bounded amount of ops per stream.
	sent := make(chan error, 1)
	go func() {
		err := sendIngestOps(stream)
		if err != nil {
			cancel() // end the stream, so that Recv below returns
		}
		sent <- err
	}()

	// Each op's final result comes back once, tagged with its seq, in any order; after we
	// half-close, the last message carries the summary.
	results := 0
	var failed []*esgwv1.BulkItemResult
	var summary *esgwv1.IngestSummary
	for {
		resp, err := stream.Recv()
		if errors.Is(err, io.EOF) {
			break // the stream ended with status OK
		}
		if err != nil {
			cancel()
			if sendErr := <-sent; sendErr != nil {
				return sendErr
			}
			return err // the stream's status
		}
		for _, result := range resp.GetResults() {
			results++
			if result.GetError() != nil {
				failed = append(failed, result)
			}
		}
		if resp.GetSummary() != nil {
			summary = resp.GetSummary()
		}
	}
	if err := <-sent; err != nil {
		return err
	}

	for i, result := range failed {
		if i == 5 {
			break
		}
		fmt.Fprintf(os.Stderr, "ingest: op seq=%d failed with %d: %s: %s\n",
			result.GetSeq(), result.GetStatus(), result.GetError().GetType(),
			result.GetError().GetReason())
	}
	if summary == nil {
		return errors.New("ingest: the stream ended without a summary")
	}
	fmt.Printf("ingest: ops=%d ok=%d failed=%d retried=%d bytes=%d elapsed_ms=%d\n",
		summary.GetOps(), summary.GetOk(), summary.GetFailed(), summary.GetRetried(),
		summary.GetBytes(), summary.GetElapsedMs())
	if results != ingestDocs || summary.GetOk() != ingestDocs {
		return fmt.Errorf("ingest: %d results, %d ok, of %d ops", results, summary.GetOk(), ingestDocs)
	}
	return nil
}

// sendIngestOps writes the ops, several per message, the first message also naming the default
// index, then half-closes the stream.
func sendIngestOps(stream esgwv1.Gateway_IngestClient) error {
	type streamedDoc struct {
		N    int    `json:"n"`
		Name string `json:"name"`
	}
	for first := 1; first <= ingestDocs; first += ingestOpsPerMessage {
		req := &esgwv1.IngestRequest{}
		if first == 1 {
			req.Index = scratchIndex
		}
		for n := first; n < first+ingestOpsPerMessage && n <= ingestDocs; n++ {
			source, err := json.Marshal(streamedDoc{N: n, Name: fmt.Sprintf("streamed document %d", n)})
			if err != nil {
				return err
			}
			req.Ops = append(req.Ops, &esgwv1.BulkOp{
				Type:       esgwv1.OpType_OP_TYPE_INDEX,
				Id:         fmt.Sprintf("doc-%d", n),
				SourceJson: string(source),
				Seq:        uint64(n), // unique within the stream
			})
		}
		// Send blocks while gRPC flow control holds us back. io.EOF means the stream has
		// already ended: Recv reports its status.
		if err := stream.Send(req); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return err
		}
	}
	// Half-close: no more ops, send the summary.
	return stream.CloseSend()
}
