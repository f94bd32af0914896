"""INVITE -> 200 (or 503) per Call-ID from a dumpcap capture of the caller's port."""
import signal
import struct
import subprocess
import time

from .procs import PROCS, BenchError, wait_until


def read_pcap(path):
    """Yields (time, src_port, dst_port, udp payload) for IPv4/UDP packets of a pcap file."""
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack_from("<I", data)[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        raise BenchError(f"{path}: not a pcap file (write it with dumpcap -P)")
    nano = magic in (0xA1B23C4D, 0x4D3CB2A1)
    linktype = struct.unpack_from(e + "I", data, 20)[0]
    link_len = {1: 14, 113: 16, 276: 20, 0: 4, 101: 0, 12: 0}.get(linktype)
    if link_len is None:
        raise BenchError(f"{path}: unsupported link type {linktype}")
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack_from(e + "IIII", data, off)
        off += 16
        pkt = data[off:off + incl]
        off += incl
        ip = pkt[link_len:]
        if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 0x0F) * 4
        sport, dport = struct.unpack_from("!HH", ip, ihl)
        yield sec + frac / (1e9 if nano else 1e6), sport, dport, ip[ihl + 8:]


def call_times(pcap, caller_port):
    """Per Call-ID, from a capture of the caller's port: the first INVITE sent from it, the
    first 200 and the first 503 (CSeq INVITE) received on it. Returns (invites, oks, refusals),
    each {Call-ID: time}."""
    invites, oks, refusals = {}, {}, {}
    for t, sport, dport, payload in read_pcap(pcap):
        head = payload.split(b"\r\n\r\n", 1)[0]
        lines = head.split(b"\r\n")
        if not lines:
            continue
        call_id = cseq = None
        for line in lines[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name in (b"call-id", b"i"):
                call_id = value.strip()
            elif name == b"cseq":
                cseq = value.strip()
        if call_id is None:
            continue
        if sport == caller_port and lines[0].startswith(b"INVITE "):
            invites.setdefault(call_id, t)
        elif dport == caller_port and cseq and cseq.endswith(b"INVITE"):
            if lines[0].startswith(b"SIP/2.0 200"):
                oks.setdefault(call_id, t)
            elif lines[0].startswith(b"SIP/2.0 503"):
                refusals.setdefault(call_id, t)
    return invites, oks, refusals


def setup_pairs(invites, oks):
    """[(time of the INVITE, INVITE->200 ms)] of the answered calls, in INVITE order."""
    return sorted((invites[c], (oks[c] - invites[c]) * 1000.0) for c in oks if c in invites)


class Capture:
    def __init__(self, path, port):
        self.path = path
        self.port = port
        self.proc = PROCS.start(["dumpcap", "-q", "-P", "-i", "lo", "-f", f"udp port {port}",
                                 "-w", path], stderr=subprocess.DEVNULL)
        # dumpcap writes the pcap header once capturing has started.
        wait_until(lambda: path.exists() and path.stat().st_size >= 24
                   or self.proc.poll() is not None, 10, "dumpcap to start")
        if self.proc.poll() is not None:
            raise BenchError("dumpcap failed to start (needs capture rights on lo)")
        time.sleep(0.2)

    def finish(self):
        """[(time of the INVITE, setup ms)] per answered call; the INVITE, 200 and 503 times
        per Call-ID stay in self.invites, self.oks and self.refusals."""
        time.sleep(0.2)
        PROCS.stop(self.proc, sig=signal.SIGINT)
        self.invites, self.oks, self.refusals = call_times(self.path, self.port)
        return setup_pairs(self.invites, self.oks)
