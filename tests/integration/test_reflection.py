"""gRPC conventions, driven the way generic tools drive them: server
reflection (v1 and v1alpha) from a client that has no .proto file, a Quote
called with a JSON body through the reflected descriptors, health Watch
(SERVING, then NOT_SERVING when the server drains), and the google.rpc.Status
details of failures (grpc-status-details-bin), decoded with stubs generated
from proto/google/rpc/."""
import importlib.util
import os
import signal
import subprocess
import sys
import tempfile
import unittest

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

m = harness.stubs()
Q, T, O, H = m["quote_pb2"], m["types_pb2"], m["orders_pb2"], m["health_pb2"]
SC = grpc.StatusCode
GRPC_PROTO = "/usr/share/grpc-proto"


def _load(path, name):
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def extra_stubs():
    """The reflection stubs (Debian's grpc-proto) and google.rpc's (proto/),
    generated here with grpc_tools' protoc, which knows google/protobuf/*."""
    d = tempfile.mkdtemp(prefix="dd-stubs-x-")
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I" + GRPC_PROTO,
                    "-I" + os.path.join(harness.SRC, "proto"), "--python_out=" + d,
                    "grpc/reflection/v1/reflection.proto",
                    "grpc/reflection/v1alpha/reflection.proto",
                    "google/rpc/status.proto", "google/rpc/error_details.proto"], check=True)
    return (_load(os.path.join(d, "grpc/reflection/v1/reflection_pb2.py"), "dd_refl_v1"),
            _load(os.path.join(d, "grpc/reflection/v1alpha/reflection_pb2.py"), "dd_refl_v1a"),
            _load(os.path.join(d, "google/rpc/status_pb2.py"), "dd_rpc_status"),
            _load(os.path.join(d, "google/rpc/error_details_pb2.py"), "dd_rpc_details"))


R1, R1A, STATUS, DETAILS = extra_stubs()


class ReflectionClient:
    """A reflection client over one bidirectional stream per batch of
    requests, as grpcurl does it."""

    def __init__(self, channel, mod, version):
        self.mod = mod
        self.call = channel.stream_stream(
            "/grpc.reflection.%s.ServerReflection/ServerReflectionInfo" % version,
            request_serializer=mod.ServerReflectionRequest.SerializeToString,
            response_deserializer=mod.ServerReflectionResponse.FromString)

    def ask(self, *requests, metadata=None):
        return list(self.call(iter(requests), timeout=30, metadata=metadata))

    def services(self):
        (r,) = self.ask(self.mod.ServerReflectionRequest(list_services=""))
        return sorted(s.name for s in r.list_services_response.service)

    def files(self, **req):
        (r,) = self.ask(self.mod.ServerReflectionRequest(**req))
        return r


def add_files(pool, blobs):
    """Adds serialized FileDescriptorProtos to pool, dependencies first."""
    todo = [descriptor_pb2.FileDescriptorProto.FromString(b) for b in blobs]
    while todo:
        rest = []
        for fd in todo:
            try:
                pool.FindFileByName(fd.name)
                continue  # already there
            except KeyError:
                pass
            if all(_has(pool, d) for d in fd.dependency):
                pool.Add(fd)
            else:
                rest.append(fd)
        if len(rest) == len(todo):
            raise AssertionError("unresolvable files: %s" % [f.name for f in rest])
        todo = rest


def _has(pool, name):
    try:
        pool.FindFileByName(name)
        return True
    except KeyError:
        return False


def proto_services():
    out = set()
    for mod in (m["quote_pb2"], m["admin_pb2"], m["orders_pb2"], m["server_pb2"],
                m["analytics_pb2"], m["backup_pb2"], m["journal_pb2"], m["compliance_pb2"]):
        out |= {s.full_name for s in mod.DESCRIPTOR.services_by_name.values()}
    return out


class ReflectionTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server(auth=True)
        # reflection and health are public: a bare channel, no token
        cls.bare = grpc.insecure_channel(cls.s.addr)

    @classmethod
    def tearDownClass(cls):
        cls.bare.close()
        assert cls.s.stop() == 0, cls.s.read_log()[-3000:]
        cls.s.cleanup()

    def test_list_services_v1_and_v1alpha(self):
        want = proto_services() | {"grpc.health.v1.Health",
                                   "grpc.reflection.v1.ServerReflection",
                                   "grpc.reflection.v1alpha.ServerReflection"}
        for mod, version in ((R1, "v1"), (R1A, "v1alpha")):
            got = ReflectionClient(self.bare, mod, version).services()
            self.assertEqual(set(got), want, version)
            self.assertEqual(len(got), len(want))

    def test_watch_needs_no_credentials(self):
        watch = self.bare.unary_stream(
            "/grpc.health.v1.Health/Watch",
            request_serializer=H.HealthCheckRequest.SerializeToString,
            response_deserializer=H.HealthCheckResponse.FromString)
        it = watch(H.HealthCheckRequest(service=""), timeout=30)
        self.assertEqual(next(it).status, H.HealthCheckResponse.SERVING)
        it.cancel()
        # while GetStatus, like every other method, needs a token
        status = self.bare.unary_unary("/dealdesk.v1.ServerAdmin/GetStatus",
                                       request_serializer=lambda x: x.SerializeToString(),
                                       response_deserializer=None)
        with self.assertRaises(grpc.RpcError) as cm:
            status(m["server_pb2"].GetStatusRequest(), timeout=30)
        self.assertEqual(cm.exception.code(), SC.UNAUTHENTICATED)

    def test_describe_every_service(self):
        """Each listed service resolves (file_containing_symbol, with its
        dependencies) to the same methods and types the stubs have."""
        rc = ReflectionClient(self.bare, R1, "v1")
        pool = descriptor_pool.DescriptorPool()
        for name in rc.services():
            r = rc.files(file_containing_symbol=name)
            self.assertTrue(r.HasField("file_descriptor_response"), (name, r))
            add_files(pool, r.file_descriptor_response.file_descriptor_proto)
            svc = pool.FindServiceByName(name)
            self.assertGreater(len(svc.methods), 0, name)
        for mod in (m["quote_pb2"], m["admin_pb2"], m["orders_pb2"], m["server_pb2"]):
            for sd in mod.DESCRIPTOR.services_by_name.values():
                got = pool.FindServiceByName(sd.full_name)
                self.assertEqual([(x.name, x.input_type.full_name, x.output_type.full_name)
                                  for x in got.methods],
                                 [(x.name, x.input_type.full_name, x.output_type.full_name)
                                  for x in sd.methods])
        # the streaming flags come through: Watch streams answers,
        # reflection both ways, Check neither
        kinds = {}
        for fname in ("grpc/health/v1/health.proto", "grpc/reflection/v1/reflection.proto"):
            fdp = descriptor_pb2.FileDescriptorProto()
            pool.FindFileByName(fname).CopyToProto(fdp)
            for sv in fdp.service:
                for mt in sv.method:
                    kinds[sv.name + "." + mt.name] = (mt.client_streaming, mt.server_streaming)
        self.assertEqual(kinds, {"Health.Check": (False, False), "Health.Watch": (False, True),
                                 "ServerReflection.ServerReflectionInfo": (True, True)})

    def test_symbols_files_and_errors(self):
        rc = ReflectionClient(self.bare, R1, "v1")
        r = rc.files(file_by_filename="dealdesk/v1/quote.proto")
        names = [descriptor_pb2.FileDescriptorProto.FromString(b).name
                 for b in r.file_descriptor_response.file_descriptor_proto]
        self.assertEqual(names[0], "dealdesk/v1/quote.proto")
        self.assertEqual(sorted(names), ["dealdesk/v1/quote.proto", "dealdesk/v1/types.proto"])
        # a message, a nested one, a method: the file that declares them
        for sym, fname in (("dealdesk.v1.QuoteRequest", "dealdesk/v1/quote.proto"),
                           ("dealdesk.v1.QuoteService.Quote", "dealdesk/v1/quote.proto"),
                           ("dealdesk.v1.PriceEntry", "dealdesk/v1/types.proto"),
                           ("grpc.health.v1.HealthCheckResponse.ServingStatus",
                            "grpc/health/v1/health.proto")):
            r = rc.files(file_containing_symbol=sym)
            first = descriptor_pb2.FileDescriptorProto.FromString(
                r.file_descriptor_response.file_descriptor_proto[0])
            self.assertEqual(first.name, fname, sym)
        r = rc.files(file_containing_symbol="dealdesk.v1.NoSuchThing")
        self.assertEqual(r.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])
        self.assertIn("dealdesk.v1.NoSuchThing", r.error_response.error_message)
        r = rc.files(file_by_filename="nope.proto")
        self.assertEqual(r.error_response.error_code, grpc.StatusCode.NOT_FOUND.value[0])
        r = rc.files(all_extension_numbers_of_type="dealdesk.v1.QuoteRequest")
        self.assertEqual(r.all_extension_numbers_response.base_type_name,
                         "dealdesk.v1.QuoteRequest")
        self.assertEqual(list(r.all_extension_numbers_response.extension_number), [])
        # several requests on one stream: one answer each, in order, each
        # echoing its request
        reqs = [R1.ServerReflectionRequest(host="h%d" % i, list_services="") for i in range(5)]
        answers = rc.ask(*reqs)
        self.assertEqual([a.valid_host for a in answers], ["h%d" % i for i in range(5)])
        self.assertEqual([a.original_request for a in answers], reqs)

    def test_quote_with_json_and_no_proto(self):
        """What grpcurl -d '{...}' does: descriptors from reflection, the
        request from JSON, the response back to JSON."""
        rc = ReflectionClient(self.bare, R1, "v1")
        pool = descriptor_pool.DescriptorPool()
        r = rc.files(file_containing_symbol="dealdesk.v1.QuoteService")
        add_files(pool, r.file_descriptor_response.file_descriptor_proto)
        method = pool.FindMethodByName("dealdesk.v1.QuoteService.Quote")
        factory = message_factory.MessageFactory(pool)
        Req = factory.GetPrototype(method.input_type)
        Resp = factory.GetPrototype(method.output_type)
        body = ('{"customerId": "acme", "currency": "USD", "requestTime": "%d", '
                '"lines": [{"sku": "CABLE-3", "quantity": 4}]}' % harness.T0)
        req = json_format.Parse(body, Req())
        token = self.s.token("checkout", "refl-checkout")
        call = self.bare.unary_unary("/dealdesk.v1.QuoteService/Quote",
                                     request_serializer=lambda x: x.SerializeToString(),
                                     response_deserializer=Resp.FromString)
        resp = call(req, timeout=30, metadata=harness.bearer(token))
        out = json_format.MessageToDict(resp)
        # the same answer as the compiled stubs give for the same request
        want = self.s.quote.Quote(Q.QuoteRequest(
            customer_id="acme", currency="USD", request_time=harness.T0,
            lines=[Q.LineRequest(sku="CABLE-3", quantity=4)]), timeout=30)
        self.assertEqual(out["currency"], "USD")
        self.assertEqual(int(out["total"]), want.total)
        self.assertEqual(out["lines"][0]["sku"], "CABLE-3")
        self.assertEqual(len(out["decisionId"]), len(want.decision_id))
        a = Resp.FromString(resp.SerializeToString())
        a.decision_id = want.decision_id
        self.assertEqual(a.SerializeToString(deterministic=True),
                         want.SerializeToString(deterministic=True))

    def test_reflection_cancelled_midway(self):
        """A client that goes away with a stream open leaves nothing behind:
        the server keeps answering."""
        rc = ReflectionClient(self.bare, R1, "v1")
        it = rc.call(iter([R1.ServerReflectionRequest(list_services="")] * 3 +
                          [R1.ServerReflectionRequest(file_by_filename="x")] * 1000),
                     timeout=30)
        next(it)
        it.cancel()
        self.assertEqual(len(rc.services()), len(proto_services()) + 3)


class ReflectionBackpressureTest(unittest.TestCase):
    def test_unread_answers_then_read(self):
        """A client that sends many requests before reading any answer: the
        server stops reading while 2 x max-message-bytes of answers wait
        (here 128 KiB, a few dozen answers), resumes as the client reads, and
        every answer comes, in order."""
        import time
        s = harness.Server("--max-message-bytes", "65536", "--log-level", "debug")
        try:
            rc = ReflectionClient(s.channel, R1, "v1")
            n = 400
            reqs = [R1.ServerReflectionRequest(host=str(i),
                                               file_containing_symbol="dealdesk.v1.CatalogAdmin")
                    for i in range(n)]
            it = rc.call(iter(reqs), timeout=120)
            time.sleep(1)  # the server fills its queue and pauses
            hosts = [r.valid_host for r in it]
            self.assertEqual(hosts, [str(i) for i in range(n)])
            self.assertEqual(it.code(), SC.OK)
            self.assertIn("bytes of replies unsent: not reading", s.read_log())
        finally:
            self.assertEqual(s.stop(), 0, s.read_log()[-3000:])
            s.cleanup()


class DetailsTest(unittest.TestCase):
    """Failures carry google.rpc.Status in grpc-status-details-bin."""

    @classmethod
    def setUpClass(cls):
        cls.s = harness.Server()
        A = m["admin_pb2"]
        cls.s.catalog.PutPriceEntries(A.PutPriceEntriesRequest(entries=[
            T.PriceEntry(price_list_id="usd", sku=sku, currency="USD", unit_price=price,
                         unit_cost=cost, category="x")
            for sku, price, cost in [("A", 1000, 400), ("CHEAP", 100, 99)]]))
        cls.s.customers.PutCustomers(A.PutCustomersRequest(customers=[
            T.Customer(id="late", customer_group="retail", credit=T.CreditProfile(
                currency="USD", credit_limit=10**9, standard_terms_days=30, tier="A",
                oldest_overdue_days=120)),
            T.Customer(id="big", customer_group="retail", credit=T.CreditProfile(
                currency="USD", credit_limit=10**12, standard_terms_days=30, tier="A"))]))
        cls.s.checks.PutComplianceChecks(A.PutComplianceChecksRequest(checks=[
            T.ComplianceCheck(id="margin", kind=T.CHECK_KIND_MIN_MARGIN, bps=500,
                              on_fail=T.COMPLIANCE_STATUS_BLOCK, enabled=True)]))

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.read_log()[-3000:]
        cls.s.cleanup()

    def details(self, fn):
        with self.assertRaises(grpc.RpcError) as cm:
            fn()
        e = cm.exception
        raw = dict(e.trailing_metadata() or ()).get("grpc-status-details-bin")
        self.assertIsNotNone(raw, e.trailing_metadata())
        st = STATUS.Status.FromString(raw)
        self.assertEqual(st.code, e.code().value[0])
        self.assertEqual(st.message, e.details())
        out = {}
        for any_ in st.details:
            for cls in (DETAILS.ErrorInfo, DETAILS.BadRequest, DETAILS.PreconditionFailure):
                if any_.Is(cls.DESCRIPTOR):
                    msg = cls()
                    any_.Unpack(msg)
                    out[cls.DESCRIPTOR.name] = msg
        self.assertEqual(len(out), len(st.details), st)
        return e.code(), out

    def test_bad_request(self):
        code, d = self.details(lambda: self.s.quote.Quote(Q.QuoteRequest(
            customer_id="acme", currency="USD",
            lines=[Q.LineRequest(sku="CABLE-3", quantity=0)]), timeout=30))
        self.assertEqual(code, SC.INVALID_ARGUMENT)
        self.assertEqual(sorted(d), ["BadRequest", "ErrorInfo"])
        fv = d["BadRequest"].field_violations
        self.assertEqual([(v.field, v.description) for v in fv],
                         [("lines[0].quantity", "must be > 0, got 0")])
        info = d["ErrorInfo"]
        self.assertEqual((info.reason, info.domain), ("INVALID_FIELD", "dealdesk"))
        self.assertEqual(dict(info.metadata), {"method": "/dealdesk.v1.QuoteService/Quote",
                                               "field": "lines[0].quantity"})
        # refused on the wire bytes, before decoding: the same shape
        code, d = self.details(lambda: self.s.raw("/dealdesk.v1.QuoteService/Quote",
                                                  b"\x0a\x03\xff\xfe\x41"))
        self.assertEqual(code, SC.INVALID_ARGUMENT)
        self.assertEqual(d["BadRequest"].field_violations[0].field, "customer_id")
        self.assertEqual(d["BadRequest"].field_violations[0].description, "invalid UTF-8")

    def commit(self, oid, sku, customer):
        return self.s.orders.Commit(O.CommitRequest(order_id=oid, request=Q.QuoteRequest(
            customer_id=customer, currency="USD", request_time=harness.T0,
            lines=[Q.LineRequest(sku=sku, quantity=1)])), timeout=30)

    def test_credit_refusal(self):
        code, d = self.details(lambda: self.commit("d1", "A", "late"))
        self.assertEqual(code, SC.FAILED_PRECONDITION)
        self.assertEqual(d["ErrorInfo"].reason, "CREDIT_DECLINED")
        v = d["PreconditionFailure"].violations
        self.assertGreaterEqual(len(v), 1)
        self.assertEqual({(x.type, x.subject) for x in v}, {("CREDIT", "customer/late")})
        self.assertTrue(all(x.description for x in v), v)

    def test_compliance_refusal(self):
        code, d = self.details(lambda: self.commit("b1", "CHEAP", "big"))
        self.assertEqual(code, SC.FAILED_PRECONDITION)
        self.assertEqual(d["ErrorInfo"].reason, "COMPLIANCE_BLOCKED")
        v = d["PreconditionFailure"].violations
        # the demo's own min-margin-5 check blocks too
        self.assertEqual([(x.type, x.subject) for x in v],
                         [("COMPLIANCE", "compliance_check/margin"),
                          ("COMPLIANCE", "compliance_check/min-margin-5")])
        self.assertEqual(v[0].description, "line 0 CHEAP: total 1.00 is below cost 0.99 "
                         "plus 5.00% (1.04); margin 1.01%")

    def test_other_failures_have_error_info(self):
        code, d = self.details(lambda: self.s.quote.Quote(Q.QuoteRequest(
            customer_id="nobody", currency="USD",
            lines=[Q.LineRequest(sku="A", quantity=1)]), timeout=30))
        self.assertEqual(code, SC.NOT_FOUND)
        self.assertEqual(sorted(d), ["ErrorInfo"])
        self.assertEqual(d["ErrorInfo"].reason, "NOT_FOUND")
        self.assertEqual(d["ErrorInfo"].metadata["field"], "customer_id")
        code, d = self.details(lambda: self.s.raw("/dealdesk.v1.Nope/Nope", b""))
        self.assertEqual(code, SC.UNIMPLEMENTED)
        self.assertEqual(d["ErrorInfo"].reason, "UNIMPLEMENTED")


class HealthWatchTest(unittest.TestCase):
    def test_watch_then_drain(self):
        s = harness.Server()
        try:
            watch = s.channel.unary_stream(
                "/grpc.health.v1.Health/Watch",
                request_serializer=H.HealthCheckRequest.SerializeToString,
                response_deserializer=H.HealthCheckResponse.FromString)
            S = H.HealthCheckResponse
            whole = watch(H.HealthCheckRequest(service=""), timeout=60)
            quote = watch(H.HealthCheckRequest(service="dealdesk.v1.QuoteService"), timeout=60)
            unknown = watch(H.HealthCheckRequest(service="nope.Service"), timeout=60)
            self.assertEqual(next(whole).status, S.SERVING)
            self.assertEqual(next(quote).status, S.SERVING)
            self.assertEqual(next(unknown).status, S.SERVICE_UNKNOWN)
            # a watch whose client goes away is forgotten
            gone = watch(H.HealthCheckRequest(service=""), timeout=60)
            self.assertEqual(next(gone).status, S.SERVING)
            gone.cancel()
            # Check agrees
            self.assertEqual(s.health(H.HealthCheckRequest(service="dealdesk.v1.ServerAdmin"),
                                      timeout=30).status, S.SERVING)
            # draining: NOT_SERVING, then the streams end
            s.proc.send_signal(signal.SIGTERM)
            self.assertEqual(next(whole).status, S.NOT_SERVING)
            self.assertEqual(next(quote).status, S.NOT_SERVING)
            for stream in (whole, quote, unknown):
                self.assertEqual(list(stream), [])
                self.assertEqual(stream.code(), SC.OK)
            self.assertEqual(s.proc.wait(timeout=60), 0, s.read_log()[-3000:])
            self.assertNotIn("grace period over", s.read_log())
        finally:
            s.stop()
            s.cleanup()


if __name__ == "__main__":
    unittest.main()
