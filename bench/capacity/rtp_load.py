#!/usr/bin/env python3
"""RTP load for the relay measurement of bench/capacity/run.py (Python standard library only).

Two UDP sockets stand for all callers and all callees: every caller's SDP offer and every
callee's SDP answer name one port each (the SIPp key audio_port), so a relay (mcxd or rtpengine)
sends all caller-bound RTP to socket A and all callee-bound RTP to socket B. Each socket also
sends its side's streams, from the very port its SDP names (symmetric RTP, so rtpengine's
endpoint learning keeps pointing at the same sockets).

The relay's ports per call come from the SIPp logs (-trace_logs -log_file): the UAC scenario
logs "caller <port> ..." for the port in the 200's SDP (the relay's caller-leg port), the UAS
scenario logs "callee <port> ..." for the port in the INVITE's SDP (the relay's callee-leg port).

One stream = one direction of one call: 50 packets/s (20 ms), 12-byte RTP header + 33 bytes
payload (the size of an AMR-WB 12.65 kbit/s frame, octet-aligned), payload type 96, a distinct
SSRC per stream. The parent process sends (packets spread evenly over each 20 ms period); a
forked child receives on both sockets and counts per SSRC. Loss = 1 - received / sent, counted
after a grace period once sending stops: after --seconds, or with --until-stopped once stdin
reaches EOF or the process gets SIGTERM (bench/capacity/hold_calls.py).

Protocol on stdout (one JSON object per line): {"event":"bound","caller_port":A,"callee_port":B}
at once; {"event":"start","calls":N} when the first packet goes out (N < --calls when the relay
refused some calls); {"event":"stop"} after the last;
then {"event":"result", ...}.
"""
import argparse
import json
import os
import re
import select
import selectors
import signal
import socket
import struct
import sys
import time

LINE = re.compile(r"^(caller|callee) (\d+)\b")


def emit(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def bind(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for opt in (getattr(socket, "SO_RCVBUFFORCE", None), socket.SO_RCVBUF):
        if opt is None:
            continue
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 * 1024 * 1024)
            break
        except OSError:
            continue
    for opt in (getattr(socket, "SO_SNDBUFFORCE", None), socket.SO_SNDBUF):
        if opt is None:
            continue
        try:
            s.setsockopt(socket.SOL_SOCKET, opt, 8 * 1024 * 1024)
            break
        except OSError:
            continue
    s.bind(("127.0.0.1", port))
    return s


def read_ports(path, side):
    ports = []
    try:
        with open(path, errors="replace") as f:
            for line in f:
                m = LINE.match(line)
                if m and m.group(1) == side:
                    ports.append(int(m.group(2)))
    except FileNotFoundError:
        pass
    return ports


class StopRequest:
    """--until-stopped: set by SIGTERM, or once stdin reaches EOF (checked when asked)."""

    def __init__(self):
        self.stopped = False
        signal.signal(signal.SIGTERM, self._on_term)

    def _on_term(self, _signum, _frame):
        self.stopped = True

    def __call__(self):
        while not self.stopped and select.select([sys.stdin], [], [], 0)[0]:
            if not os.read(sys.stdin.fileno(), 4096):
                self.stopped = True
        return self.stopped


def receiver(socks, pipe_r, pipe_w):
    """Child: count packets per SSRC on both sockets until the parent writes to the pipe (or
    exits: the pipe then reads as closed)."""
    os.close(pipe_w[0])
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    sel.register(pipe_r, selectors.EVENT_READ)
    counts = {}
    buf = bytearray(2048)
    done = False
    while not done:
        for key, _ in sel.select(1.0):
            if key.fileobj is pipe_r:
                done = True
                continue
            s = key.fileobj
            while True:
                try:
                    n = s.recv_into(buf)
                except BlockingIOError:
                    break
                if n >= 12:
                    ssrc = struct.unpack_from("!I", buf, 8)[0]
                    counts[ssrc] = counts.get(ssrc, 0) + 1
    # Drain what is still queued.
    for s in socks:
        while True:
            try:
                n = s.recv_into(buf)
            except (BlockingIOError, OSError):
                break
            if n >= 12:
                ssrc = struct.unpack_from("!I", buf, 8)[0]
                counts[ssrc] = counts.get(ssrc, 0) + 1
    os.write(pipe_w[1], json.dumps({str(k): v for k, v in counts.items()}).encode())
    os.close(pipe_w[1])
    os._exit(0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--caller-port", type=int, default=0, help="port of socket A (0 = free)")
    ap.add_argument("--callee-port", type=int, default=0, help="port of socket B (0 = free)")
    ap.add_argument("--caller-log", required=True, help="SIPp UAC log with 'caller <port>' lines")
    ap.add_argument("--callee-log", required=True, help="SIPp UAS log with 'callee <port>' lines")
    ap.add_argument("--calls", type=int, required=True, help="wait for this many calls per side")
    ap.add_argument("--wait", type=float, default=30.0, help="seconds to wait for the calls")
    ap.add_argument("--seconds", type=float, default=8.0, help="seconds of RTP")
    ap.add_argument("--until-stopped", action="store_true",
                    help="send until stdin reaches EOF or SIGTERM comes, not for --seconds")
    ap.add_argument("--settle", type=float, default=3.0,
                    help="go on with fewer calls when none was added for this many seconds")
    ap.add_argument("--pps", type=int, default=50, help="packets per second per stream")
    ap.add_argument("--grace", type=float, default=0.5, help="seconds to wait for late packets")
    args = ap.parse_args()
    stop_requested = StopRequest() if args.until_stopped else (lambda: False)

    a = bind(args.caller_port)
    b = bind(args.callee_port)
    emit({"event": "bound", "caller_port": a.getsockname()[1],
          "callee_port": b.getsockname()[1]})

    # Wait for the calls; when some are refused, go on with those set up once no new call
    # has appeared for --settle seconds.
    deadline = time.monotonic() + args.wait
    last, last_change = (-1, -1), time.monotonic()
    while True:
        caller_ports = read_ports(args.caller_log, "caller")
        callee_ports = read_ports(args.callee_log, "callee")
        now = time.monotonic()
        if len(caller_ports) >= args.calls and len(callee_ports) >= args.calls:
            break
        if (len(caller_ports), len(callee_ports)) != last:
            last, last_change = (len(caller_ports), len(callee_ports)), now
        elif min(last) > 0 and now - last_change > args.settle:
            break
        if now > deadline or stop_requested():
            emit({"event": "result", "error": "calls not set up in time" if now > deadline
                  else "stopped before the calls were set up",
                  "caller_calls": len(caller_ports), "callee_calls": len(callee_ports)})
            return 1
        time.sleep(0.1)
    calls = min(args.calls, len(caller_ports), len(callee_ports))
    caller_ports = caller_ports[:calls]
    callee_ports = callee_ports[:calls]

    pipe_stop = os.pipe()
    pipe_res = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            if args.until_stopped:
                signal.signal(signal.SIGTERM, signal.SIG_IGN)  # the parent says when
            os.close(pipe_stop[1])
            receiver([a, b], pipe_stop[0], pipe_res)
        finally:
            os._exit(1)  # never run the parent's code
    os.close(pipe_stop[0])
    os.close(pipe_res[1])

    # Streams: (socket, destination, ssrc); caller->relay from A, callee->relay from B.
    streams = [(a, ("127.0.0.1", p), 0x10000000 + i) for i, p in enumerate(caller_ports)]
    streams += [(b, ("127.0.0.1", p), 0x20000000 + i) for i, p in enumerate(callee_ports)]
    period = 1.0 / args.pps
    slots = 20  # spread each period's packets over 20 sub-slots
    batches = [streams[i::slots] for i in range(slots)]
    payload = bytes(33)
    sent = {ssrc: 0 for _, _, ssrc in streams}
    packets = int(round(args.seconds * args.pps))
    time.sleep(0.3)  # let the child enter its loop
    emit({"event": "start", "calls": calls})
    t0 = time.monotonic()
    send_errors = 0
    k = 0
    while (not stop_requested()) if args.until_stopped else k < packets:
        for j, batch in enumerate(batches):
            due = t0 + k * period + j * period / slots
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            header_fixed = (0x80, 96, k & 0xFFFF, (k * 320) & 0xFFFFFFFF)
            for sock, dest, ssrc in batch:
                pkt = struct.pack("!BBHII", *header_fixed, ssrc) + payload
                try:
                    sock.sendto(pkt, dest)
                    sent[ssrc] += 1
                except OSError:
                    send_errors += 1
        k += 1
    elapsed = time.monotonic() - t0
    emit({"event": "stop"})
    time.sleep(args.grace)
    os.write(pipe_stop[1], b"x")
    chunks = []
    while True:
        c = os.read(pipe_res[0], 65536)
        if not c:
            break
        chunks.append(c)
    os.waitpid(pid, 0)
    received = {int(k): v for k, v in json.loads(b"".join(chunks) or b"{}").items()}

    def side(lo):
        s = sum(v for k, v in sent.items() if k & 0xF0000000 == lo)
        r = sum(min(received.get(k, 0), v) for k, v in sent.items() if k & 0xF0000000 == lo)
        return s, r

    s1, r1 = side(0x10000000)
    s2, r2 = side(0x20000000)
    total_s, total_r = s1 + s2, r1 + r2
    emit({"event": "result", "calls": calls, "streams": len(streams), "seconds": round(elapsed, 3),
          "sent": total_s, "received": total_r,
          "loss_pct": round(100.0 * (total_s - total_r) / total_s, 4) if total_s else None,
          "caller_to_callee": {"sent": s1, "received": r1},
          "callee_to_caller": {"sent": s2, "received": r2},
          "send_errors": send_errors,
          "silent_streams": sum(1 for k in sent if received.get(k, 0) == 0)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
