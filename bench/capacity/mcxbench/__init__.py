"""The capacity bench's parts, shared by bench/capacity/run.py and hold_calls.py (Python
standard library only).

  procs    child processes (each in its own process group), free ports, /proc readings, log
  sipp     the SIPp driver and its statistics
  mcxd     mcxd under test: configuration, start/stop, IdMS tokens, registrations
  peer     Kamailio + rtpengine (configuration template in bench/capacity/peer/)
  capture  INVITE -> 200 per Call-ID from a dumpcap capture
  measure  one run of each kind: calls at a rate, RSS per held call, RTP through the relay
  plan     the run plan: prepare, smoke, full (steady state, bursts, sustained search)
  report   medians, the table, section.md and the merge into report.json
"""
