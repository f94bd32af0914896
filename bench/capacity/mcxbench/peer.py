"""The peer: Kamailio (stateful proxy, configuration from the template
bench/capacity/peer/kamailio.cfg) with rtpengine in userspace."""
import glob
import os
import random
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from .procs import (HOST, PROCS, BenchError, children_of, cpu_ticks, free_udp_port, trim_log,
                    wait_until)

PEER_DOMAIN = "peer.bench"
KAMAILIO_CHILDREN = 4
KAMAILIO_TEMPLATE = Path(__file__).resolve().parent.parent / "peer" / "kamailio.cfg"
# rtpengine's media ports: a block of 2000 below the kernel's ephemeral range (32768-60999),
# from which every other port here is picked. Kamailio's UDP socket has SO_REUSEADDR, and so do
# rtpengine's: with rtpengine's default range (30000-40000) it could bind Kamailio's SIP port
# and swallow its traffic (seen: runs where almost every call timed out). The block is drawn
# at random so that two benches on one machine (e.g. the CTest smoke) rarely share ports.
RTPENGINE_BLOCK = 2000


def kamailio_cfg(**values):
    """The template with every @NAME@ replaced by values[name.lower()]."""
    def fill(m):
        key = m.group(1).lower()
        if key not in values:
            raise BenchError(f"{KAMAILIO_TEMPLATE}: no value for @{m.group(1)}@")
        return str(values[key])

    return re.sub(r"@([A-Z_]+)@", fill, KAMAILIO_TEMPLATE.read_text())


def kamailio_mpath():
    for d in glob.glob("/usr/lib/*/kamailio/modules") + ["/usr/lib/kamailio/modules"]:
        if os.path.exists(os.path.join(d, "rtpengine.so")):
            return d
    raise BenchError("kamailio modules (rtpengine.so) not found")


def peer_available():
    return bool(shutil.which("kamailio") and shutil.which("rtpengine"))


def ng_ping(port, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        try:
            s.sendto(b"bench1 d7:command4:pinge", (HOST, port))
            return b"pong" in s.recv(1024)
        except OSError:
            return False


def sip_options_ping(port, timeout=0.5):
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind((HOST, 0))
        s.settimeout(timeout)
        lp = s.getsockname()[1]
        msg = (f"OPTIONS sip:{PEER_DOMAIN} SIP/2.0\r\n"
               f"Via: SIP/2.0/UDP {HOST}:{lp};branch=z9hG4bK-bench-{time.monotonic_ns()}\r\n"
               f"From: <sip:ping@{PEER_DOMAIN}>;tag=1\r\nTo: <sip:{PEER_DOMAIN}>\r\n"
               f"Call-ID: ping-{time.monotonic_ns()}\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 5\r\n"
               "Content-Length: 0\r\n\r\n")
        try:
            s.sendto(msg.encode(), (HOST, port))
            return s.recv(4096).startswith(b"SIP/2.0")
        except OSError:
            return False


class Peer:
    kind = "peer"
    domain = PEER_DOMAIN
    register_scenario = "peer_register.xml"

    def __init__(self, workdir, users):
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.users = users
        self.rtpengine = None
        self.kamailio = None
        self.kam_pids = []
        self.logs = []
        self.mpath = kamailio_mpath()
        self.port_min = random.randrange(10000, 32768 - RTPENGINE_BLOCK, RTPENGINE_BLOCK)
        rows = [f"callee{i}" for i in range(users)]
        (self.workdir / "callees.csv").write_text("SEQUENTIAL\n" + "\n".join(rows) + "\n")

    def start(self, logdir=None):
        ng = free_udp_port()
        port = free_udp_port()
        self.logs = [(logdir or self.workdir) / n for n in ("rtpengine.log", "kamailio.log")]
        err = open(self.logs[0], "w")
        self.rtpengine = PROCS.start(
            ["rtpengine", "--config-file=none", "--table=-1", f"--interface={HOST}",
             f"--listen-ng={HOST}:{ng}", "--delete-delay=0", "--foreground", "--log-stderr",
             "--log-level=4", f"--pidfile={self.workdir / 'rtpengine.pid'}",
             f"--port-min={self.port_min}", f"--port-max={self.port_min + RTPENGINE_BLOCK - 1}"],
            stdout=err, stderr=subprocess.STDOUT)
        err.close()
        try:
            wait_until(lambda: ng_ping(ng) or self.rtpengine.poll() is not None, 15,
                       "rtpengine control (ng) port")
        except BenchError:
            raise BenchError(f"rtpengine did not answer ping (see {self.logs[0]})")
        if self.rtpengine.poll() is not None:
            raise BenchError(f"rtpengine exited (see {self.logs[0]})")
        cfg = self.workdir / "kamailio.cfg"
        cfg.write_text(kamailio_cfg(children=KAMAILIO_CHILDREN, host=HOST, port=port,
                                    domain=PEER_DOMAIN, mpath=self.mpath, ng_port=ng))
        run_dir = self.workdir / "run"
        run_dir.mkdir(exist_ok=True)
        err = open(self.logs[1], "w")
        self.kamailio = PROCS.start(["kamailio", "-f", cfg, "-DD", "-E", "-m", "256", "-M", "16",
                                     "-Y", run_dir, "-w", run_dir],
                                    stdout=err, stderr=subprocess.STDOUT)
        err.close()
        wait_until(lambda: sip_options_ping(port) or self.kamailio.poll() is not None, 20,
                   "Kamailio to answer OPTIONS")
        if self.kamailio.poll() is not None:
            raise BenchError(f"kamailio exited (see {self.logs[1]})")
        self.sip = f"{HOST}:{port}"
        self.kam_pids = [self.kamailio.pid] + children_of(self.kamailio.pid)

    def pids(self):
        return self.kam_pids + [self.rtpengine.pid]

    def cpu_parts(self):
        return {"kamailio": cpu_ticks(self.kam_pids), "rtpengine": cpu_ticks([self.rtpengine.pid])}

    def stop(self):
        PROCS.stop(self.kamailio)
        PROCS.stop(self.rtpengine)
        self.kamailio = self.rtpengine = None
        for log_file in self.logs:
            trim_log(log_file)

    def register_all(self, sipp, workdir, caller_port, callee_port):
        # Callers need no registration at the proxy; callees register their Contact.
        sipp.register("register-callees", workdir, self.register_scenario, callee_port,
                      self.sip, PEER_DOMAIN, self.workdir / "callees.csv", self.users)

    def scenarios(self, duplex):
        return "peer_call_uac.xml", "peer_call_uas.xml"
