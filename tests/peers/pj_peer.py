#!/usr/bin/env python3
"""A scriptable PJSUA2 peer for Switchboard's integration tests.

It prints one JSON object per line on stdout (events: started, registered,
call_state, media_active, dtmf_tx, dtmf_rx, summary); PJSIP's own log goes to
stderr. Exit status 0 means it did everything it was asked to do.

Examples:
  # register as 1002, then un-register and exit
  pj_peer.py --port 5100 --registrar 127.0.0.1:5060 --user 1002 --password secret1002 --unregister
  # register, call, play a WAV, send RFC 4733 DTMF 2 s after media starts, record, hang up after 6 s
  pj_peer.py --port 5100 --registrar 127.0.0.1:5060 --user 1001 --password secret1001 \
      --call sip:5000@127.0.0.1:5060 --play prompt.wav --dtmf 1234 --dtmf-at 2 --record heard.wav --hold 6
  # agent: register, auto-answer, loop a WAV, record, exit after 1 call
  pj_peer.py --port 5101 --registrar 127.0.0.1:5060 --user 1002 --password secret1002 \
      --answer --play tone.wav --loop --record agent.wav --calls 1 --timeout 30
  # agent who blind-transfers (REFER) each answered call to the tech queue after 3 s
  pj_peer.py ... --answer --transfer-to sip:tech@127.0.0.1 --transfer-at 3
  # agent who holds each answered call after 2 s, calls 1002, and after 2 s
  # of talking joins the two (attended transfer: REFER with Replaces)
  pj_peer.py ... --answer --consult sip:1002@127.0.0.1 --consult-at 2 --consult-for 2
  # caller who types keys at several moments, then answers one call back
  pj_peer.py ... --call sip:5000@127.0.0.1:5060 --dtmf-plan "1:11,6:1,9:1" --answer --calls 1

Every loop is bounded by --timeout (seconds, default 20).
Teardown rule (PJSUA2 aborts otherwise): every Call, AudioMediaPlayer and
AudioMediaRecorder Python object is dropped before libDestroy().
"""
import argparse
import gc
import json
import sys
import time

import pjsua2 as pj


def emit(ev, **kw):
    kw = {"ev": ev, **kw}
    sys.stdout.write(json.dumps(kw) + "\n")
    sys.stdout.flush()


class State:
    reg_code = None
    reg_reason = None
    reg_active = False
    unreg_code = None
    calls = []          # live Call objects
    players = []
    recorders = []
    confirmed = 0
    ended = 0
    last_status = None
    media_at = None     # time media became active on the current call
    dtmf_sent = False
    plan_sent = 0       # --dtmf-plan steps sent
    transferred = False
    transfer_code = None
    consult = None      # --consult: our call to the colleague
    consult_held = None  # ...and the call on hold meanwhile
    consult_up = None   # when the colleague answered
    held = False
    refused = 0         # incoming calls refused (486) when not answering
    unheld = False
    dtmf_rx = ""
    errors = []


S = State()


class StderrLog(pj.LogWriter):
    """PJSIP's log goes to stderr so that stdout carries only JSON lines."""

    def write(self, entry):
        sys.stderr.write(entry.msg if entry.msg.endswith("\n") else entry.msg + "\n")


class Account(pj.Account):
    def __init__(self, args):
        super().__init__()
        self.args = args

    def onRegState(self, prm):
        info = self.getInfo()
        emit("registered", code=prm.code, reason=prm.reason, active=info.regIsActive,
             expires=info.regExpiresSec)
        if S.reg_code is None or (S.reg_active and not info.regIsActive):
            if S.reg_code is not None and S.reg_active:
                S.unreg_code = prm.code
            else:
                S.reg_code = prm.code
                S.reg_reason = prm.reason
        S.reg_active = info.regIsActive

    def onIncomingCall(self, prm):
        call = Call(self, self.args, prm.callId)
        S.calls.append(call)
        if not self.args.answer:
            op = pj.CallOpParam()
            op.statusCode = 486
            call.hangup(op)
            S.refused += 1
            emit("refused", code=486)
            return
        op = pj.CallOpParam()
        op.statusCode = 200
        call.answer(op)


class Call(pj.Call):
    def __init__(self, acc, args, call_id=pj.PJSUA_INVALID_ID):
        super().__init__(acc, call_id)
        self.args = args
        self.player = None
        self.recorder = None

    def onCallState(self, prm):
        ci = self.getInfo()
        emit("call_state", state=ci.stateText, code=ci.lastStatusCode, reason=ci.lastReason,
             remote=ci.remoteUri)
        if ci.state == pj.PJSIP_INV_STATE_CONFIRMED:
            S.confirmed += 1
            if self is S.consult:
                S.consult_up = time.monotonic()
        if ci.state == pj.PJSIP_INV_STATE_DISCONNECTED:
            S.last_status = ci.lastStatusCode
            S.ended += 1
            S.media_at = None
            self.player = None      # the recorder writes its WAV header when destroyed
            self.recorder = None
            S.players.clear()
            S.recorders.clear()

    def onCallMediaState(self, prm):
        ci = self.getInfo()
        for i, mi in enumerate(ci.media):
            if mi.type != pj.PJMEDIA_TYPE_AUDIO or mi.status != pj.PJSUA_CALL_MEDIA_ACTIVE:
                continue
            aud = self.getAudioMedia(i)
            if self.args.play and self.player is None:
                self.player = pj.AudioMediaPlayer()
                opts = 0 if self.args.loop else pj.PJMEDIA_FILE_NO_LOOP
                self.player.createPlayer(self.args.play, opts)
                S.players.append(self.player)
            if self.args.record and self.recorder is None:
                self.recorder = pj.AudioMediaRecorder()
                self.recorder.createRecorder(self.args.record)
                S.recorders.append(self.recorder)
            # (Re)connect on every media change: after hold/unhold the call's
            # conference port can be a new one.
            if self.player is not None:
                self.player.startTransmit(aud)
            if self.recorder is not None:
                aud.startTransmit(self.recorder)
            if S.media_at is None:
                S.media_at = time.monotonic()
                emit("media_active", index=i)

    def onCallTransferStatus(self, prm):
        emit("transfer_status", code=prm.statusCode, reason=prm.reason, final=prm.finalNotify)
        if prm.finalNotify:
            S.transfer_code = prm.statusCode

    def onDtmfDigit(self, prm):
        S.dtmf_rx += prm.digit
        emit("dtmf_rx", digit=prm.digit, digits=S.dtmf_rx)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port", type=int, required=True, help="local SIP port on 127.0.0.1")
    ap.add_argument("--rtp-port", type=int, default=0, help="first local RTP port (0: PJSIP's default)")
    ap.add_argument("--transport", choices=["udp", "tcp"], default="udp")
    ap.add_argument("--registrar", help="HOST:PORT of the registrar; none: a local account")
    ap.add_argument("--domain", default="127.0.0.1", help="domain of the AOR (sip:USER@DOMAIN)")
    ap.add_argument("--user", default="pjpeer")
    ap.add_argument("--password", default="")
    ap.add_argument("--expires", type=int, default=300)
    ap.add_argument("--unregister", action="store_true", help="un-REGISTER before exiting")
    ap.add_argument("--call", help="SIP URI to call")
    ap.add_argument("--answer", action="store_true", help="auto-answer incoming calls")
    ap.add_argument("--calls", type=int, default=1, help="with --answer: exit after this many calls")
    ap.add_argument("--refuse", type=int, default=0, help="without --answer: stay until this many incoming calls were refused (486)")
    ap.add_argument("--play", help="WAV file to send (8 kHz mono 16-bit)")
    ap.add_argument("--loop", action="store_true", help="loop the --play file")
    ap.add_argument("--record", help="WAV file to write with what is heard")
    ap.add_argument("--dtmf", help="RFC 4733 digits to send")
    ap.add_argument("--dtmf-info", action="store_true", help="send --dtmf as SIP INFO instead")
    ap.add_argument("--dtmf-at", type=float, default=1.0, help="seconds after media start to send --dtmf")
    ap.add_argument("--dtmf-plan", help="AT:DIGITS,AT:DIGITS,...: digits to send AT seconds after media start")
    ap.add_argument("--hold", type=float, default=5.0, help="with --call: hang up this many seconds after media start")
    ap.add_argument("--hangup-after", type=float, help="hang up answered calls this many seconds after media start")
    ap.add_argument("--transfer-to", help="blind-transfer (REFER) the answered call to this URI")
    ap.add_argument("--transfer-at", type=float, default=3.0, help="seconds after media start for --transfer-to")
    ap.add_argument("--consult", help="with --answer: hold the answered call, call this URI, then attended-transfer (REFER with Replaces)")
    ap.add_argument("--consult-at", type=float, default=2.0, help="seconds after media start for --consult")
    ap.add_argument("--consult-for", type=float, default=2.0, help="seconds of talking to the --consult party before the transfer")
    ap.add_argument("--hold-at", type=float, help="put the call on hold (re-INVITE) this many seconds after media start")
    ap.add_argument("--unhold-at", type=float, help="take the call off hold this many seconds after media start")
    ap.add_argument("--timeout", type=float, default=20.0, help="give up after this many seconds")
    ap.add_argument("--log-level", type=int, default=3)
    args = ap.parse_args()

    ep = pj.Endpoint()
    ep.libCreate()
    cfg = pj.EpConfig()
    cfg.uaConfig.threadCnt = 0
    cfg.uaConfig.mainThreadOnly = True
    cfg.uaConfig.userAgent = "pj_peer (switchboard tests)"
    cfg.logConfig.level = args.log_level
    cfg.logConfig.consoleLevel = args.log_level
    log_writer = StderrLog()
    cfg.logConfig.writer = log_writer
    cfg.logConfig.decor = 0
    cfg.medConfig.clockRate = 8000
    cfg.medConfig.sndClockRate = 8000
    cfg.medConfig.noVad = True
    cfg.medConfig.ecTailLen = 0
    ep.libInit(cfg)

    tcfg = pj.TransportConfig()
    tcfg.port = args.port
    tcfg.boundAddress = "127.0.0.1"
    tcfg.publicAddress = "127.0.0.1"
    ttype = pj.PJSIP_TRANSPORT_TCP if args.transport == "tcp" else pj.PJSIP_TRANSPORT_UDP
    ep.transportCreate(ttype, tcfg)
    ep.libStart()
    ep.audDevManager().setNullDev()
    for c in ep.codecEnum2():
        keep = c.codecId.startswith("PCMU/") or c.codecId.startswith("PCMA/")
        ep.codecSetPriority(c.codecId, 200 if keep else 0)

    acfg = pj.AccountConfig()
    acfg.idUri = f"sip:{args.user}@{args.domain}"
    tparam = ";transport=tcp" if args.transport == "tcp" else ""
    if args.registrar:
        acfg.regConfig.registrarUri = f"sip:{args.registrar}{tparam}"
        acfg.regConfig.timeoutSec = args.expires
        acfg.regConfig.retryIntervalSec = 0     # no automatic retry: a failure is final
        acfg.sipConfig.authCreds.append(pj.AuthCredInfo("digest", "*", args.user, 0, args.password))
        acfg.sipConfig.proxies.append(f"sip:{args.registrar}{tparam};lr")
    acfg.mediaConfig.transportConfig.boundAddress = "127.0.0.1"
    acfg.mediaConfig.transportConfig.publicAddress = "127.0.0.1"
    if args.rtp_port:
        acfg.mediaConfig.transportConfig.port = args.rtp_port
        acfg.mediaConfig.transportConfig.portRange = 100
    acc = Account(args)
    acc.create(acfg)
    emit("started", port=args.port, transport=args.transport, user=args.user)

    ok = True
    deadline = time.monotonic() + args.timeout
    call_placed = False
    unreg_sent = False
    plan = []
    for step in (args.dtmf_plan or "").split(","):
        if step.strip():
            at, digits = step.split(":")
            plan.append((float(at), digits.strip()))

    def pump():
        ep.libHandleEvents(20)

    try:
        # 1. registration
        if args.registrar:
            while S.reg_code is None and time.monotonic() < deadline:
                pump()
            if S.reg_code is None or not (200 <= S.reg_code < 300):
                ok = False
                S.errors.append(f"registration failed: {S.reg_code} {S.reg_reason}")
        # 2. calls
        if ok and (args.call or args.answer):
            while time.monotonic() < deadline:
                pump()
                if args.call and not call_placed:
                    call = Call(acc, args)
                    S.calls.append(call)
                    call.makeCall(args.call, pj.CallOpParam(True))
                    call_placed = True
                    del call
                live = [c for c in S.calls if c.isActive()]
                if S.media_at is not None and live:
                    since = time.monotonic() - S.media_at
                    if args.dtmf and not S.dtmf_sent and since >= args.dtmf_at:
                        S.dtmf_sent = True
                        try:
                            if args.dtmf_info:
                                p = pj.CallSendDtmfParam()
                                p.digits = args.dtmf
                                p.method = pj.PJSUA_DTMF_METHOD_SIP_INFO
                                live[0].sendDtmf(p)
                            else:
                                live[0].dialDtmf(args.dtmf)
                            emit("dtmf_tx", digits=args.dtmf, info=args.dtmf_info)
                        except pj.Error as e:
                            S.errors.append(f"dtmf: {e.info()}")
                            ok = False
                    if S.plan_sent < len(plan) and since >= plan[S.plan_sent][0]:
                        digits = plan[S.plan_sent][1]
                        S.plan_sent += 1
                        live[0].dialDtmf(digits)
                        emit("dtmf_tx", digits=digits, info=False)
                    if args.hold_at is not None and not S.held and since >= args.hold_at:
                        S.held = True
                        live[0].setHold(pj.CallOpParam(True))
                        emit("hold")
                    if args.unhold_at is not None and S.held and not S.unheld and since >= args.unhold_at:
                        S.unheld = True
                        op = pj.CallOpParam(True)
                        op.opt.flag = pj.PJSUA_CALL_UNHOLD
                        live[0].reinvite(op)
                        emit("unhold")
                    if args.consult and S.consult is None and since >= args.consult_at:
                        S.consult_held = live[0]
                        S.consult_held.setHold(pj.CallOpParam(True))
                        S.consult = Call(acc, args)
                        S.calls.append(S.consult)
                        S.consult.makeCall(args.consult, pj.CallOpParam(True))
                        emit("consult", to=args.consult)
                    if S.consult_up is not None and not S.transferred \
                            and time.monotonic() - S.consult_up >= args.consult_for:
                        S.transferred = True
                        S.consult_held.xferReplaces(S.consult, pj.CallOpParam(True))
                        emit("transfer", replaces=True)
                    if args.transfer_to and not S.transferred and since >= args.transfer_at:
                        S.transferred = True
                        live[0].xfer(args.transfer_to, pj.CallOpParam(True))
                        emit("transfer", to=args.transfer_to)
                    outgoing = args.call and S.ended == 0
                    if outgoing and since >= args.hold:
                        live[0].hangup(pj.CallOpParam())
                        S.media_at = None
                    elif not outgoing and args.hangup_after is not None and since >= args.hangup_after:
                        live[0].hangup(pj.CallOpParam())
                        S.media_at = None
                del live
                # With --call and --answer: the outgoing call, then --calls incoming ones.
                expected = (1 if args.call else 0) + (args.calls if args.answer else 0) \
                    + (1 if args.consult else 0)
                if call_placed or not args.call:
                    if S.ended >= expected and S.refused >= args.refuse \
                            and not any(c.isActive() for c in S.calls):
                        break
            if args.call and S.confirmed < 1:
                ok = False
                S.errors.append(f"call not answered (last status {S.last_status})")
            expected = (1 if args.call else 0) + (args.calls if args.answer else 0) \
                + (1 if args.consult else 0)
            if args.answer and S.ended < expected:
                ok = False
                S.errors.append(f"only {S.ended} of {expected} calls ended")
            if S.refused < args.refuse:
                ok = False
                S.errors.append(f"only {S.refused} of {args.refuse} incoming calls came")
            if S.plan_sent < len(plan):
                ok = False
                S.errors.append(f"only {S.plan_sent} of {len(plan)} --dtmf-plan steps sent")
            if (args.transfer_to or args.consult) and S.transfer_code is None:
                ok = False
                S.errors.append("transfer sent but no final NOTIFY" if S.transferred else "transfer not sent")
            if args.dtmf and not S.dtmf_sent:
                ok = False
                S.errors.append("dtmf not sent")
        # 3. un-registration
        if args.unregister and S.reg_active:
            acc.setRegistration(False)
            unreg_sent = True
            end = min(deadline, time.monotonic() + 5)
            while S.unreg_code is None and time.monotonic() < end:
                pump()
            if S.unreg_code is None or not (200 <= S.unreg_code < 300):
                ok = False
                S.errors.append(f"un-registration failed: {S.unreg_code}")
    except pj.Error as e:
        ok = False
        S.errors.append(f"pjsua2: {e.info()}")
    finally:
        # hang up what is left, let the BYEs go, then tear down in order
        try:
            ep.hangupAllCalls()
            end = time.monotonic() + 2
            while any(c.isActive() for c in S.calls) and time.monotonic() < end:
                pump()
        except pj.Error:
            pass
        emit("summary", ok=ok, reg_code=S.reg_code, reg_reason=S.reg_reason,
             unreg_code=S.unreg_code if unreg_sent else None, confirmed=S.confirmed,
             ended=S.ended, last_status=S.last_status, dtmf_rx=S.dtmf_rx,
             transfer_code=S.transfer_code, errors=S.errors)
        S.consult = None
        S.consult_held = None
        S.calls.clear()
        S.players.clear()
        S.recorders.clear()
        acc.shutdown()
        del acc
        gc.collect()
        ep.libDestroy()
        del ep
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
