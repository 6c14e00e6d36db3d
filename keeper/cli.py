"""`cohort-keeper`: run the keeper, submit signals, list them, show one.

Exit codes: 0 success (with `submit --wait`: the signal executed); 1 the signal was refused, or
ended failed, rejected or expired, or the keeper stopped on an error; 2 bad usage or settings, no
store, or the keeper could not be reached; 3 `submit --wait` gave up before the signal was final.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

import httpx

from keeper.errors import ConfigError, KeeperError
from keeper.intake import Refused, parse_submission
from keeper.masterstore import follower_summary
from keeper.policy import SignalState, is_terminal
from keeper.settings import KeeperSettings, load_settings
from keeper.store import SignalRecord, Store


def _settings(args: argparse.Namespace, **overrides: Any) -> KeeperSettings:
    return load_settings(Path(args.config) if args.config else None, **overrides)


# ==================================================================== run


def cmd_run(args: argparse.Namespace) -> int:
    from keeper.logs import setup_logging
    from keeper.service import build_keeper

    settings = _settings(args, port=args.port, db_path=args.db)
    setup_logging(level=settings.log_level, json_lines=settings.log_json, secrets=settings.secrets())
    keeper = build_keeper(settings)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, keeper.request_stop)
        await keeper.run()

    try:
        asyncio.run(main())
    except KeeperError as exc:
        print(f"cohort-keeper: {exc}", file=sys.stderr)
        return 1
    return 0


# ==================================================================== submit


def _read_signal(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read the signal file {path}: {exc.strerror or exc}; give the JSON file "
                          "`cohort signal sign --out FILE` wrote, or - for stdin") from None


def _open_store(settings: KeeperSettings) -> Store:
    """The keeper's existing store; a missing one is an error, not a new empty file."""
    if not Path(settings.db_path).exists():
        raise ConfigError(f"there is no keeper store at {Path(settings.db_path).resolve()}: run `cohort-keeper run` "
                          "first, or point --config (db_path) or KEEPER_DB_PATH at the keeper's store")
    return Store(settings.db_path, synchronous=settings.sqlite_synchronous)


def _outcome(data: dict[str, Any]) -> tuple[int, str]:
    """The exit code and a sentence for a signal's state after `submit --wait`."""
    state = str(data.get("state", ""))
    why = f": {data.get('reason')}: {data.get('detail')}" if data.get("reason") else ""
    if state in (SignalState.EXECUTED, SignalState.EXECUTED_BY_OTHER):
        return 0, f"signal {data.get('id')} {state.replace('_', ' ')} (tx {data.get('tx_hash')})"
    if is_terminal(state):
        return 1, f"signal {data.get('id')} ended {state}{why}"
    return 3, (f"signal {data.get('id')} is still {state or 'pending'} after the wait{why}; follow it with "
               f"`cohort-keeper status {data.get('id')}`")


def is_master(body: bytes) -> bool:
    """Is this the JSON of a signed master signal (cohort.strategies.SignedMaster), not a signal's?"""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError):
        return False
    return isinstance(data, dict) and "master" in data


def _master_outcome(data: dict[str, Any]) -> tuple[int, str]:
    """The exit code and a sentence for a master signal after `submit --wait`."""
    state = str(data.get("state", ""))
    followers = follower_summary(f["state"] for f in data.get("followers", [])) or "no followers"
    if state == SignalState.EXECUTED:
        return 0, f"master signal {data.get('id')} executed: {followers}"
    if is_terminal(state):
        return 1, f"master signal {data.get('id')} ended {state}: {data.get('reason')}: {data.get('detail')}"
    return 3, (f"master signal {data.get('id')} is still {state or 'pending'} after the wait ({followers}); follow "
               f"it at GET /masters/{data.get('id')}")


def cmd_submit(args: argparse.Namespace) -> int:
    settings = _settings(args)
    body = _read_signal(args.signal)
    path = "masters" if is_master(body) else "signals"
    if args.direct:
        if path == "masters":
            print("cohort-keeper: --direct takes trade signals only; submit a master signal over HTTP to a running "
                  "keeper (leave --direct out)", file=sys.stderr)
            return 2
        return _submit_direct(settings, body)
    url = (args.url or f"http://{settings.host}:{settings.port}").rstrip("/")
    try:
        with httpx.Client(timeout=args.wait + 10) as client:
            answer = client.post(f"{url}/{path}", content=body, headers={"content-type": "application/json"})
            data = answer.json()
            if answer.status_code < 300 and args.wait > 0:
                data = client.get(f"{url}/{path}/{data['id']}", params={"wait": args.wait}).json()
    except httpx.HTTPError as exc:
        print(f"cohort-keeper: cannot reach the keeper at {url}: {exc}; start it (`cohort-keeper run`), give its "
              "address with --url, or use --direct to write to its store", file=sys.stderr)
        return 2
    except (ValueError, KeyError):
        print(f"cohort-keeper: {url} does not answer like a Cohort keeper (no signal id in its JSON): check --url",
              file=sys.stderr)
        return 2
    print(json.dumps(data, indent=2))
    if answer.status_code >= 300:
        print(f"cohort-keeper: the keeper refused the signal: {data.get('error')}: {data.get('detail')}",
              file=sys.stderr)
        return 1
    if args.wait <= 0:
        return 0
    code, sentence = _master_outcome(data) if path == "masters" else _outcome(data)
    print(f"cohort-keeper: {sentence}", file=sys.stderr)
    return code


def _submit_direct(settings: KeeperSettings, body: bytes) -> int:
    """Store the signal as `received`; the keeper verifies it when it picks it up (a new store is
    created for a keeper that has not run yet, and said so)."""
    if not Path(settings.db_path).exists():
        print(f"cohort-keeper: creating the keeper store {Path(settings.db_path).resolve()}; start the keeper "
              "with the same db_path to execute the signal", file=sys.stderr)
    store = Store(settings.db_path, synchronous=settings.sqlite_synchronous)
    try:
        parsed = parse_submission(body, settings.max_body_bytes)
        now = time.time()
        if isinstance(parsed, Refused):
            rejection = parsed.rejection
            signal_id = store.insert_signal(payload=parsed.payload, source="cli", state=SignalState.REJECTED,
                                            received_at=now, reason=rejection.code, detail=rejection.detail)
            print(json.dumps({"error": rejection.code, "detail": rejection.detail, "id": signal_id}, indent=2))
            return 1
        signed, payload = parsed
        served = {v.lower() for v in settings.vault_addresses()}
        reason = None
        if signed.vault.lower() not in served:
            reason = ("unknown_vault", f"this keeper does not serve vault {signed.vault}")
        elif settings.chain_id is not None and signed.chain_id != settings.chain_id:
            reason = ("wrong_chain", f"signal is for chain {signed.chain_id}, this keeper serves chain "
                                     f"{settings.chain_id}")
        common: dict[str, Any] = {
            "payload": payload, "source": "cli", "received_at": now, "vault": signed.vault,
            "chain_id": signed.chain_id, "nonce": signed.signal.nonce, "deadline": signed.signal.deadline,
            "digest": "0x" + signed.digest.hex() if signed.digest else None}
        if reason is not None:
            signal_id = store.insert_signal(state=SignalState.REJECTED, reason=reason[0], detail=reason[1], **common)
            print(json.dumps({"error": reason[0], "detail": reason[1], "id": signal_id}, indent=2))
            return 1
        signal_id = store.insert_signal(state=SignalState.RECEIVED, reason="verification_pending",
                                        detail="stored by the CLI; the keeper verifies it", **common)
        print(json.dumps({"id": signal_id, "digest": common["digest"], "state": "received"}, indent=2))
        return 0
    finally:
        store.close()


# ==================================================================== list and status


def _row(record: SignalRecord) -> str:
    reason = f"{record.reason}: {record.detail}" if record.reason else (record.detail or "")
    return (f"{record.id:>6}  {record.state:<17}  {(record.vault or '-')[:10]:<10}  "
            f"{record.nonce or '-':>20}  {(record.tx_hash or '-')[:12]:<12}  {reason}")


def cmd_list(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = _open_store(settings)
    try:
        records = store.list_signals(state=args.state, vault=args.vault, limit=args.limit)
    finally:
        store.close()
    if args.json:
        print(json.dumps([r.public() for r in records], indent=2))
        return 0
    print(f"{'id':>6}  {'state':<17}  {'vault':<10}  {'nonce':>20}  {'tx':<12}  reason")
    for record in records:
        print(_row(record))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
    settings = _settings(args)
    store = _open_store(settings)
    try:
        record = store.get(args.id)
        txs = store.txs_for_signal(args.id) if record else []
    finally:
        store.close()
    if record is None:
        print(f"cohort-keeper: no signal #{args.id} in {settings.db_path}", file=sys.stderr)
        return 1
    out = record.public()
    out["transactions"] = [t.public() for t in txs]
    print(json.dumps(out, indent=2))
    return 0


def cmd_masters(args: argparse.Namespace) -> int:
    """Master signals, newest first; with an id, one of them with each follower's outcome."""
    settings = _settings(args)
    store = _open_store(settings)
    try:
        if args.id is not None:
            out = store.master_view(args.id)
            if out is None:
                print(f"cohort-keeper: no master signal #{args.id} in {settings.db_path}", file=sys.stderr)
                return 1
            print(json.dumps(out, indent=2))
            return 0
        records = store.list_masters(state=args.state, limit=args.limit)
        counts = {r.id: [f.state for f in store.followers(r.id)] for r in records}
    finally:
        store.close()
    print(f"{'id':>6}  {'state':<10}  {'strategy':>8}  {'nonce':>20}  followers")
    for r in records:
        states = counts[r.id]
        summary = ", ".join(f"{states.count(s)} {s}" for s in dict.fromkeys(states)) or (r.detail or "")
        print(f"{r.id:>6}  {r.state:<10}  {r.strategy_id or '-':>8}  {r.nonce or '-':>20}  {summary}")
    return 0


def cmd_config(args: argparse.Namespace) -> int:
    print(json.dumps(_settings(args).model_dump(mode="json"), indent=2))
    return 0


# ==================================================================== entry point


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="cohort-keeper", description="Cohort keeper: relay signals, run duties.")
    sub = p.add_subparsers(dest="command", required=True)

    def common(sp: argparse.ArgumentParser) -> argparse.ArgumentParser:
        sp.add_argument("--config", "-c", help="TOML settings file (KEEPER_* env vars override it)")
        return sp

    run = common(sub.add_parser("run", help="run the keeper (HTTP intake, pipeline, duties)"))
    run.add_argument("--port", type=int, help="HTTP port (overrides the settings)")
    run.add_argument("--db", help="SQLite store path (overrides the settings)")
    run.set_defaults(fn=cmd_run)

    submit = common(sub.add_parser("submit", help="submit a signed signal or master signal JSON file ('-': stdin)"))
    submit.add_argument("signal")
    submit.add_argument("--url", help="the keeper's HTTP address (default: host and port of the settings)")
    submit.add_argument("--direct", action="store_true", help="write into the store instead of HTTP")
    submit.add_argument("--wait", type=float, default=0.0, help="wait up to this many seconds for a final state")
    submit.set_defaults(fn=cmd_submit)

    lst = common(sub.add_parser("list", help="signals with their state and reason, newest first"))
    lst.add_argument("--state", choices=[str(s) for s in SignalState])
    lst.add_argument("--vault")
    lst.add_argument("--limit", type=int, default=50)
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(fn=cmd_list)

    status = common(sub.add_parser("status", help="one signal: state, reason, outcome, transactions"))
    status.add_argument("id", type=int)
    status.set_defaults(fn=cmd_status)

    masters = common(sub.add_parser("masters", help="master signals; with an id, one with each follower's outcome"))
    masters.add_argument("id", type=int, nargs="?")
    masters.add_argument("--state", choices=[str(s) for s in SignalState])
    masters.add_argument("--limit", type=int, default=50)
    masters.set_defaults(fn=cmd_masters)

    config = common(sub.add_parser("config", help="print the effective settings (secrets masked)"))
    config.set_defaults(fn=cmd_config)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.fn(args))
    except ConfigError as exc:
        print(f"cohort-keeper: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
