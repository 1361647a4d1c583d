#!/usr/bin/env python3
"""Calling esgw from Python with grpcio.

Checks the gateway's health, searches the `products` index, writes two documents with Bulk and
streams 1,000 more through Ingest.

Env: ESGW_ADDR (gRPC target, default 127.0.0.1:50051), ESGW_TOKEN (optional bearer token).
Needs the modules generated from proto/esgw/v1/*.proto on the import path; see README.md.

Exits 0 when every step worked; otherwise prints what failed (with the gRPC status code and
message for a failed call) and exits 1.
"""

import json
import os
import sys

import grpc

from esgw.v1 import admin_pb2, admin_pb2_grpc, common_pb2, gateway_pb2, gateway_pb2_grpc

# Any gRPC target. Against several esgw replicas behind a headless Kubernetes Service, use
# "dns:///esgw-headless.<namespace>.svc.cluster.local:50051": the DNS resolver returns every
# ready pod and the round_robin policy below spreads calls over all of them (a plain ClusterIP
# Service would pin this client to one replica per connection).
TARGET = os.environ.get("ESGW_ADDR", "127.0.0.1:50051")
TOKEN = os.environ.get("ESGW_TOKEN", "")

# Deadlines, in seconds. Every call gets one: without it a call to a stuck server waits forever.
UNARY_TIMEOUT_S = 10
BULK_TIMEOUT_S = 30
INGEST_TIMEOUT_S = 60

SCRATCH_INDEX = "esgw-example-python"
INGEST_DOCS = 1000
INGEST_OPS_PER_MESSAGE = 100

# round_robin over every address the resolver returns. With a single address (as by default)
# it behaves like the default pick_first.
SERVICE_CONFIG = {"loadBalancingConfig": [{"round_robin": {}}]}


class ExampleError(Exception):
    """A step whose call succeeded but whose outcome is not what it should be."""


def call_metadata():
    """The metadata of every call: the bearer token, if any.

    With TLS you would rather put the token in call credentials:
    grpc.composite_channel_credentials(grpc.ssl_channel_credentials(),
    grpc.access_token_call_credentials(TOKEN)).
    """
    return (("authorization", f"Bearer {TOKEN}"),) if TOKEN else ()


def print_health(admin):
    # GetHealth answers even when esgw has no usable Elasticsearch node: `status` says whether
    # it can serve (GATEWAY_STATUS_SERVING) or not (GATEWAY_STATUS_NOT_SERVING).
    report = admin.GetHealth(
        admin_pb2.GetHealthRequest(), timeout=UNARY_TIMEOUT_S, metadata=call_metadata()
    )
    status = admin_pb2.GatewayStatus.Name(report.status)
    if report.cluster.error:
        cluster = f"cluster health unknown: {report.cluster.error}"
    else:
        cluster = f"cluster {report.cluster.status}"
    print(f"health: {status} (esgw {report.version}, {report.pool.alive} nodes alive, {cluster})")


def search(gateway):
    # The body is Elasticsearch's search body, as JSON text (or as a google.protobuf.Struct in
    # body_struct).
    request = gateway_pb2.SearchRequest(
        indices=["products"],
        body_json=json.dumps({"query": {"match": {"name": "lamp"}}, "size": 5}),
    )
    response = gateway.Search(request, timeout=UNARY_TIMEOUT_S, metadata=call_metadata())
    if response.HasField("total"):
        total = str(response.total.value)
        if response.total.relation == gateway_pb2.TotalHits.RELATION_GTE:
            total += "+"
    else:
        total = "untracked"
    print(
        f"search: {len(response.hits)} hits of {total} for name:lamp, "
        f"took {response.took_ms} ms, served by {response.served_by}"
    )
    for hit in response.hits:
        # source_json holds the document's _source exactly as Elasticsearch returned it.
        source = json.loads(hit.source_json)
        print(f"  {hit.id}  {source.get('name')}")


def bulk(gateway):
    docs = [
        ("example-1", {"name": "Example Lamp", "price": 19.5}),
        ("example-2", {"name": "Example Kettle", "price": 34}),
    ]
    request = gateway_pb2.BulkRequest(
        index=SCRATCH_INDEX,
        # Answer once a refresh has made the documents visible to search.
        refresh=common_pb2.REFRESH_WAIT_FOR,
        ops=[
            common_pb2.BulkOp(
                type=common_pb2.OP_TYPE_INDEX,
                id=doc_id,
                source_json=json.dumps(doc),
                seq=seq,  # echoed back in the item's result
            )
            for seq, (doc_id, doc) in enumerate(docs, start=1)
        ],
    )
    response = gateway.Bulk(request, timeout=BULK_TIMEOUT_S, metadata=call_metadata())
    # A failed item does not fail the call: check every item. Items come back in request order.
    ok = 0
    for item in response.items:
        if item.HasField("error"):
            print(
                f"bulk: item seq={item.seq} id={item.id} failed with {item.status}: "
                f"{item.error.type}: {item.error.reason}",
                file=sys.stderr,
            )
        else:
            ok += 1
    print(f"bulk: {ok} of {len(docs)} items ok in {SCRATCH_INDEX}")
    if ok != len(docs):
        raise ExampleError(f"bulk: {len(docs) - ok} items failed")


def ingest_requests():
    """The request stream of Ingest: several ops per message; the first also names the index.

    grpcio pulls from this generator as gRPC flow control allows, so a stream esgw cannot keep
    up with simply waits. When the generator returns, grpcio half-closes the stream.
    """
    for first in range(1, INGEST_DOCS + 1, INGEST_OPS_PER_MESSAGE):
        ops = [
            common_pb2.BulkOp(
                type=common_pb2.OP_TYPE_INDEX,
                id=f"doc-{n}",
                source_json=json.dumps({"n": n, "name": f"streamed document {n}"}),
                seq=n,  # unique within the stream
            )
            for n in range(first, min(first + INGEST_OPS_PER_MESSAGE, INGEST_DOCS + 1))
        ]
        if first == 1:
            yield gateway_pb2.IngestRequest(index=SCRATCH_INDEX, ops=ops)
        else:
            yield gateway_pb2.IngestRequest(ops=ops)


def ingest(gateway):
    responses = gateway.Ingest(
        ingest_requests(), timeout=INGEST_TIMEOUT_S, metadata=call_metadata()
    )
    # Each op's final result comes back once, tagged with its seq, in any order; after the
    # request stream ends, the last message carries the summary.
    results = 0
    failed = []
    summary = None
    for response in responses:
        for result in response.results:
            results += 1
            if result.HasField("error"):
                failed.append(result)
        if response.HasField("summary"):
            summary = response.summary
    for result in failed[:5]:
        print(
            f"ingest: op seq={result.seq} failed with {result.status}: "
            f"{result.error.type}: {result.error.reason}",
            file=sys.stderr,
        )
    if summary is None:
        raise ExampleError("ingest: the stream ended without a summary")
    print(
        f"ingest: ops={summary.ops} ok={summary.ok} failed={summary.failed} "
        f"retried={summary.retried} bytes={summary.bytes} elapsed_ms={summary.elapsed_ms}"
    )
    if results != INGEST_DOCS or summary.ok != INGEST_DOCS:
        raise ExampleError(f"ingest: {results} results, {summary.ok} ok, of {INGEST_DOCS} ops")


def main():
    options = [("grpc.service_config", json.dumps(SERVICE_CONFIG))]
    # One channel (one set of connections) for both services.
    with grpc.insecure_channel(TARGET, options=options) as channel:
        admin = admin_pb2_grpc.AdminStub(channel)
        gateway = gateway_pb2_grpc.GatewayStub(channel)
        steps = [
            ("GetHealth", lambda: print_health(admin)),
            ("Search", lambda: search(gateway)),
            ("Bulk", lambda: bulk(gateway)),
            ("Ingest", lambda: ingest(gateway)),
        ]
        for method, step in steps:
            try:
                step()
            except grpc.RpcError as err:
                # A failed call: its gRPC status, e.g. UNAVAILABLE when esgw cannot be reached
                # or has no Elasticsearch node to use, DEADLINE_EXCEEDED, INVALID_ARGUMENT for
                # a bad request.
                code = err.code()
                print(
                    f"error: {method}: {code.name} ({code.value[0]}): {err.details()}",
                    file=sys.stderr,
                )
                return 1
            except ExampleError as err:
                print(f"error: {err}", file=sys.stderr)
                return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
