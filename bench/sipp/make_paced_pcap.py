#!/usr/bin/env python3
"""Re-packetise the PCMA audio of a SIPp pcap (default: Debian's
/usr/share/sip-tester/g711a.pcap) as 20 ms RTP packets with exact 20 ms
capture times, for the reference UAS of bench/media.sh.

Why: SIPp's play_pcap_audio replays a capture with the capture's own timing.
g711a.pcap is 30 ms packets whose capture times wander (p99 |gap - 30 ms| is
about 4.8 ms), so SIPp replaying it could never meet a 1 ms jitter bound
whatever its scheduler does. This file has the same audio, 160-byte PCMA
payloads (the ptime Switchboard sends), sequence numbers +1 and timestamps
+160 per packet, capture times exactly 20 ms apart.

Usage: make_paced_pcap.py OUT.pcap [IN.pcap]
"""
import struct
import sys

out = sys.argv[1]
src = sys.argv[2] if len(sys.argv) > 2 else "/usr/share/sip-tester/g711a.pcap"
data = open(src, "rb").read()
magic, _, _, _, _, snap, link = struct.unpack("<IHHiIII", data[:24])
assert magic == 0xA1B2C3D4 and link == 1, "expected a little-endian Ethernet pcap"

audio = bytearray()
eth = None
off = 24
while off < len(data):
    _, _, incl, _ = struct.unpack("<IIII", data[off:off + 16])
    pkt = data[off + 16:off + 16 + incl]
    off += 16 + incl
    ihl = (pkt[14] & 15) * 4
    udp = pkt[14 + ihl:]
    rtp = udp[8:]
    if len(rtp) > 12 and rtp[1] & 0x7F == 8:
        eth = eth or pkt[:14]
        audio += rtp[12:]


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


frames = [bytes(audio[i:i + 160]) for i in range(0, len(audio) - 159, 160)]
res = bytearray(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
seq, ts, ssrc = 1000, 160000, 0x5B1DCAFE
t0 = 1_700_000_000 * 1_000_000
for i, payload in enumerate(frames):
    rtp = struct.pack("!BBHII", 0x80, (0x80 if i == 0 else 0) | 8, seq & 0xFFFF, ts, ssrc) + payload
    udp = bytearray(struct.pack("!HHHH", 6000, 6000, 8 + len(rtp), 0) + rtp)
    # a real UDP checksum: SIPp adjusts it for the ports and addresses it writes
    pseudo = bytes([127, 0, 0, 1, 127, 0, 0, 1, 0, 17]) + struct.pack("!H", len(udp))
    udp[6:8] = struct.pack("!H", csum(pseudo + bytes(udp)) or 0xFFFF)
    udp = bytes(udp)
    ip = bytearray(struct.pack("!BBHHHBBH4s4s", 0x45, 0xB8, 20 + len(udp), i & 0xFFFF, 0, 64, 17, 0,
                               bytes([127, 0, 0, 1]), bytes([127, 0, 0, 1])))
    ip[10:12] = struct.pack("!H", csum(bytes(ip)))
    frame = eth + bytes(ip) + udp
    t = t0 + i * 20_000
    res += struct.pack("<IIII", t // 1_000_000, t % 1_000_000, len(frame), len(frame)) + frame
    seq += 1
    ts += 160
open(out, "wb").write(res)
print(f"{out}: {len(frames)} packets of 20 ms PCMA ({len(frames) * 0.02:.2f} s)")
