"""Shared harness for dealdesk integration tests.

Starts a real dealdeskd (from DD_BIN_DIR) on a free loopback port with a
fresh database holding the demo dataset, and gives gRPC stubs generated from
proto/ at test time with Debian's protoc and grpc_python_plugin.
"""
import atexit
import importlib
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

import grpc

SRC = os.environ.get("DD_SOURCE_DIR",
                     os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BIN = os.environ.get("DD_BIN_DIR", os.path.join(SRC, "build"))
T0 = 1790000000

_stub_dir = None


def stubs():
    """Generates the Python stubs once per process; returns the modules."""
    global _stub_dir
    if _stub_dir is None:
        _stub_dir = tempfile.mkdtemp(prefix="dd-stubs-")
        atexit.register(shutil.rmtree, _stub_dir, True)
        protos = ["dealdesk/v1/types.proto", "dealdesk/v1/quote.proto",
                  "dealdesk/v1/admin.proto", "dealdesk/v1/orders.proto",
                  "grpc/health/v1/health.proto", "dealdesk/v1/analytics.proto",
                  "dealdesk/v1/server.proto"]
        protos.append("dealdesk/v1/backup.proto")
        protos.append("dealdesk/v1/journal.proto")
        protos.append("dealdesk/v1/compliance.proto")
        subprocess.run(["protoc", "-I" + os.path.join(SRC, "proto"),
                        "--python_out=" + _stub_dir, "--grpc_out=" + _stub_dir,
                        "--plugin=protoc-gen-grpc=/usr/bin/grpc_python_plugin"] + protos,
                       check=True)
        sys.path.insert(0, _stub_dir)
    mods = {}
    for name in ["types_pb2", "quote_pb2", "quote_pb2_grpc", "admin_pb2", "admin_pb2_grpc",
                 "orders_pb2", "orders_pb2_grpc", "analytics_pb2", "analytics_pb2_grpc",
                 "backup_pb2", "backup_pb2_grpc",
                 "server_pb2", "server_pb2_grpc",
                 "journal_pb2", "journal_pb2_grpc",
                 "compliance_pb2", "compliance_pb2_grpc"]:
        mods[name] = importlib.import_module("dealdesk.v1." + name)
    # grpc/health would shadow the grpc package: load it by path
    spec = importlib.util.spec_from_file_location(
        "dd_health_pb2", os.path.join(_stub_dir, "grpc/health/v1/health_pb2.py"))
    health = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(health)
    mods["health_pb2"] = health
    return mods


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def create_token_offline(db, role, name):
    """`dealdeskd token create --db DIR`: the secret of a new token."""
    p = subprocess.run([os.path.join(BIN, "dealdeskd"), "token", "create", "--db", db,
                        "--role", role, "--name", name],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise RuntimeError("token create failed: " + p.stderr)
    return p.stdout.strip()


class AuthMetadata(grpc.AuthMetadataPlugin):
    def __init__(self, token):
        self.token = token

    def __call__(self, context, callback):
        callback((("authorization", "Bearer " + self.token),), None)


def bearer(token):
    """Per-call metadata carrying token."""
    return (("authorization", "Bearer " + token),)


def _sanitized():
    try:
        out = subprocess.run(["ldd", os.path.join(BIN, "dealdeskd")], capture_output=True,
                             text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return "libasan" in out


# ASan's quarantine and shadow memory make RSS meaningless as a bound: tests
# that measure it still run the attack but check the bound only without it.
SANITIZED = _sanitized()


def rss_kb(pid):
    """VmRSS of a process, in KiB."""
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Server:
    """A dealdeskd process with its own database.

    auth=False (the default, for the tests that are not about who may call)
    starts it with --no-auth on loopback. auth=True creates an admin token
    with `dealdeskd token create` first (self.admin_token) and the stubs send
    it with every call; tokens of other roles come from token(role, name).
    tls=(cert, key, client_ca or None) serves TLS; channel_creds then says
    how the harness connects (grpc.ssl_channel_credentials)."""

    def __init__(self, *extra, demo=True, auth=False, tls=None, channel_creds=None,
                 db=None, wait=True):
        self.dir = tempfile.mkdtemp(prefix="dd-it-")
        self.db = db or os.path.join(self.dir, "db")
        self.port = free_port()
        self.addr = "127.0.0.1:%d" % self.port
        self.log_path = os.path.join(self.dir, "server.log")
        self.auth = auth
        self.admin_token = None
        if auth and db is None:
            self.admin_token = create_token_offline(self.db, "admin", "harness-admin")
        args = [os.path.join(BIN, "dealdeskd"), "--listen", self.addr, "--db", self.db,
                "--log-level", "info"] + list(extra)
        if not auth:
            args.append("--no-auth")
        if tls:
            args += ["--tls-cert", tls[0], "--tls-key", tls[1]]
            if tls[2]:
                args += ["--tls-client-ca", tls[2]]
        if demo:
            args.append("--demo")
        self.args = args
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen(args, stdout=self.log, stderr=subprocess.STDOUT)
        # wait for the server to listen before connecting: a refused first
        # connection would put the channel into reconnect backoff
        if not wait:
            return
        deadline = time.time() + 60
        while "dealdeskd ready on" not in self.read_log():
            if self.proc.poll() is not None:
                raise RuntimeError("dealdeskd exited: " + self.read_log())
            if time.time() > deadline:
                raise RuntimeError("dealdeskd did not start: " + self.read_log())
            time.sleep(0.02)
        self.channel_creds = channel_creds
        self.channel = self.open_channel(self.admin_token)
        m = stubs()
        self.health = self.channel.unary_unary(
            "/grpc.health.v1.Health/Check",
            request_serializer=m["health_pb2"].HealthCheckRequest.SerializeToString,
            response_deserializer=m["health_pb2"].HealthCheckResponse.FromString)
        self.health(m["health_pb2"].HealthCheckRequest(), timeout=30, wait_for_ready=True)
        self.quote = m["quote_pb2_grpc"].QuoteServiceStub(self.channel)
        self.catalog = m["admin_pb2_grpc"].CatalogAdminStub(self.channel)
        self.customers = m["admin_pb2_grpc"].CustomerAdminStub(self.channel)
        self.checks = m["admin_pb2_grpc"].ComplianceAdminStub(self.channel)
        self.policies = m["admin_pb2_grpc"].PolicyAdminStub(self.channel)
        self.tokens = m["admin_pb2_grpc"].TokenAdminStub(self.channel)
        self.orders = m["orders_pb2_grpc"].OrderServiceStub(self.channel)
        self.analytics = m["analytics_pb2_grpc"].AnalyticsServiceStub(self.channel)
        self.backup = m["backup_pb2_grpc"].BackupAdminStub(self.channel)
        self.decisions = m["journal_pb2_grpc"].DecisionLogStub(self.channel)
        self.audit = m["journal_pb2_grpc"].AuditLogStub(self.channel)
        self.compliance = m["compliance_pb2_grpc"].ComplianceServiceStub(self.channel)

    def open_channel(self, token=None, creds=None, options=None):
        """A channel to the server that sends token (if any) with every call."""
        creds = creds or self.channel_creds
        opts = list(options or [])
        if creds is not None:
            opts.append(("grpc.ssl_target_name_override", "localhost"))
            if token:
                creds = grpc.composite_channel_credentials(
                    creds, grpc.metadata_call_credentials(AuthMetadata(token)))
            return grpc.secure_channel(self.addr, creds, options=opts)
        ch = grpc.insecure_channel(self.addr, options=opts)
        if token:
            ch = grpc.intercept_channel(ch, _BearerInterceptor(token))
        return ch

    def token(self, role, name):
        """A new token of role (through TokenAdmin, with the admin token)."""
        A = stubs()["admin_pb2"]
        return self.tokens.CreateToken(A.CreateTokenRequest(role=role, name=name),
                                       timeout=30).secret

    def raw(self, method, payload, timeout=10):
        """Calls method with raw request bytes; returns the raw response bytes."""
        call = self.channel.unary_unary(method, request_serializer=None,
                                        response_deserializer=None)
        return call(payload, timeout=timeout)

    def read_log(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path) as f:
            return f.read()

    def stop(self):
        """SIGTERM; returns the exit code."""
        self.channel.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        return self.proc.returncode

    def cleanup(self):
        shutil.rmtree(self.dir, ignore_errors=True)


class _BearerInterceptor(grpc.UnaryUnaryClientInterceptor):
    """Adds the authorization metadata to every call of a plaintext channel
    (call credentials need TLS in grpcio)."""

    def __init__(self, token):
        self.md = bearer(token)

    def intercept_unary_unary(self, continuation, details, request):
        md = list(details.metadata or []) + list(self.md)
        details = _Details(details.method, details.timeout, md, details.credentials,
                           getattr(details, "wait_for_ready", None),
                           getattr(details, "compression", None))
        return continuation(details, request)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method, timeout, metadata, credentials, wait_for_ready, compression):
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


class CliTestCase(unittest.TestCase):
    """A server with the demo data per test class, the CLI pointed at it, and
    a scratch directory for input files."""
    cli_timeout = 60

    @classmethod
    def setUpClass(cls):
        cls.s = Server()
        cls.tmp = tempfile.mkdtemp(prefix="dd-cli-")

    @classmethod
    def tearDownClass(cls):
        code = cls.s.stop()
        cls.s.cleanup()
        shutil.rmtree(cls.tmp, ignore_errors=True)
        assert code == 0

    def run_cli(self, *args, expect=0, stdin=None):
        p = subprocess.run([os.path.join(BIN, "dealdesk"), "--server", self.s.addr] + list(args),
                           capture_output=True, text=True, input=stdin, timeout=self.cli_timeout)
        self.assertEqual(p.returncode, expect, p.stdout + p.stderr)
        return p

    def write(self, name, text):
        path = os.path.join(self.tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return path
