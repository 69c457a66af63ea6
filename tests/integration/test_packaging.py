"""The systemd unit and the example configuration (packaging/): the unit
passes `systemd-analyze verify` and keeps its hardening; the example file
names every setting and loads as it is; dealdeskd tells systemd READY=1
once it listens and STOPPING=1 when it drains (sd_notify)."""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

UNIT = os.path.join(harness.BIN, "packaging", "dealdeskd.service")
CONF = os.path.join(harness.SRC, "packaging", "dealdeskd.conf")
DEALDESKD = os.path.join(harness.BIN, "dealdeskd")
DEALDESK = os.path.join(harness.BIN, "dealdesk")


def conf_keys(path):
    """key -> [values] of the example, commented-out settings included."""
    out = {}
    with open(path) as f:
        for line in f:
            mm = re.match(r"^#?([a-z][a-z0-9-]*) = (.*)$", line.rstrip("\n"))
            if mm:
                out.setdefault(mm.group(1), []).append(mm.group(2))
    return out


def help_keys():
    p = subprocess.run([DEALDESKD, "--help"], capture_output=True, text=True, timeout=30)
    keys = set(re.findall(r"^  --([a-z][a-z0-9-]*)", p.stdout, re.M))
    return keys - {"config", "version", "help"}


class UnitTest(unittest.TestCase):
    def unit_text(self):
        with open(UNIT) as f:
            return f.read()

    def test_verify(self):
        if shutil.which("systemd-analyze") is None:
            self.skipTest("systemd-analyze is not installed")
        d = tempfile.mkdtemp(prefix="dd-unit-")
        try:
            # the installed paths do not exist here: point them at the build
            text = re.sub(r"^ExecStart=\S+", "ExecStart=" + DEALDESKD, self.unit_text(),
                          flags=re.M)
            path = os.path.join(d, "dealdeskd.service")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run(["systemd-analyze", "verify", path], capture_output=True,
                               text=True, timeout=60)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
            self.assertEqual(p.stderr.strip(), "")
            p = subprocess.run(["systemd-analyze", "security", "--offline=yes", path],
                               capture_output=True, text=True, timeout=60)
            level = re.search(r"Overall exposure level for dealdeskd\.service: ([0-9.]+)",
                              p.stdout)
            self.assertIsNotNone(level, p.stdout + p.stderr)
            self.assertLess(float(level.group(1)), 2.0, p.stdout)
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def test_directives(self):
        text = self.unit_text()
        for line in ("Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict",
                     "ReadWritePaths=/var/lib/dealdesk", "PrivateTmp=yes", "ProtectHome=yes",
                     "StateDirectory=dealdesk", "User=dealdesk", "KillSignal=SIGTERM",
                     "CapabilityBoundingSet=", "SystemCallFilter=@system-service"):
            self.assertIn("\n" + line + "\n", text, line)
        mm = re.search(r"^ExecStart=(\S+) --config (\S+)$", text, re.M)
        self.assertIsNotNone(mm)
        self.assertTrue(mm.group(1).endswith("/sbin/dealdeskd"))  # cmake --install puts it in sbin
        self.assertTrue(mm.group(2).endswith("/dealdesk/dealdeskd.conf"))
        # the drain must fit in the stop timeout
        stop = int(re.search(r"^TimeoutStopSec=(\d+)$", text, re.M).group(1))
        grace = int(conf_keys(CONF)["shutdown-grace-ms"][0])
        self.assertGreater(stop * 1000, grace)


class ConfigExampleTest(unittest.TestCase):
    def test_every_setting_documented(self):
        keys = conf_keys(CONF)
        self.assertEqual(set(keys), help_keys())
        # and each is under a comment (in its paragraph) that names what it is
        with open(CONF) as f:
            lines = f.read().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^#?[a-z][a-z0-9-]* = ", line):
                j = i - 1
                while j >= 0 and re.match(r"^#?[a-z][a-z0-9-]* = ", lines[j]):
                    j -= 1
                self.assertTrue(j >= 0 and lines[j].startswith("# "), line)

    def test_loads_as_it_is(self):
        """The example, with only the paths overridden by flags, starts the
        server, and the server reports the file's values."""
        d = tempfile.mkdtemp(prefix="dd-conf-")
        port, mport = harness.free_port(), harness.free_port()
        addr = "127.0.0.1:%d" % port
        log = open(os.path.join(d, "log"), "w")
        p = subprocess.Popen([DEALDESKD, "--config", CONF, "--listen", addr, "--db",
                              os.path.join(d, "db"), "--no-auth",
                              "--metrics-listen", "127.0.0.1:%d" % mport],
                             stdout=log, stderr=subprocess.STDOUT)
        try:
            import time
            deadline = time.time() + 60
            def text():
                with open(log.name) as f:
                    return f.read()
            while "dealdeskd ready on" not in text():
                self.assertIsNone(p.poll(), text())
                self.assertLess(time.time(), deadline)
                time.sleep(0.05)
            out = subprocess.run([DEALDESK, "--server", addr, "status"], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.returncode, 0, out.stderr)
            got = dict(re.findall(r"^  (\S+) +(.*)$", out.stdout, re.M))
            sizes = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
            for key, values in conf_keys(CONF).items():
                if key in ("listen", "db", "metrics-listen", "no-auth") or key not in got:
                    continue
                with open(CONF) as f:
                    if not re.search(r"^%s = " % re.escape(key), f.read(), re.M):
                        continue  # commented out
                want = values[0]
                mm = re.fullmatch(r"(\d+)([KMG])", want)
                if mm:
                    want = str(int(mm.group(1)) * sizes[mm.group(2)])
                self.assertEqual(got[key], want, key)
        finally:
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(timeout=60), 0)
            log.close()
            shutil.rmtree(d, ignore_errors=True)


class NotifyTest(unittest.TestCase):
    def test_ready_and_stopping(self):
        d = tempfile.mkdtemp(prefix="dd-notify-")
        sock_path = os.path.join(d, "notify")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(sock_path)
        sock.settimeout(60)
        env = dict(os.environ, NOTIFY_SOCKET=sock_path)
        addr = "127.0.0.1:%d" % harness.free_port()
        p = subprocess.Popen([DEALDESKD, "--listen", addr, "--db", os.path.join(d, "db"),
                              "--no-auth", "--log-level", "warn"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            msg = sock.recv(4096).decode()
            fields = dict(l.split("=", 1) for l in msg.split("\n") if l)
            self.assertEqual(fields["READY"], "1")
            self.assertEqual(fields["STATUS"], "serving on " + addr)
            self.assertEqual(int(fields["MAINPID"]), p.pid)
            # ready means listening: a call goes through at once
            out = subprocess.run([DEALDESK, "--server", addr, "health"], capture_output=True,
                                 text=True, timeout=60)
            self.assertEqual(out.stdout.strip(), "SERVING")
            p.send_signal(signal.SIGTERM)
            msg = sock.recv(4096).decode()
            self.assertIn("STOPPING=1", msg.split("\n"))
            self.assertEqual(p.wait(timeout=60), 0)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()
            sock.close()
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
