"""What a translation costs, as the owner of a gadget sees it: the daemon's metering against the
simulator's usage (exact), and the daily budget stopping the gadget and a reload resuming it."""

from __future__ import annotations

import json
import signal

import yaml

from polybot_device.config import PricesConfig
from polybot_device.cost.prices import response_cost, transcription_cost
from polybot_device.cost.report import TOKEN_KINDS
from polybot_device.cost.usage import ResponseUsage, response_usage, transcription_usage
from tests.fleet.test_metrics import samples
from tests.rig.fleet import one_utterance
from tests.rig.timing import eventually, scaled


def server_usage(sim) -> tuple[list[ResponseUsage], float]:
    """What the simulator billed: every response.done usage, and the transcription seconds."""
    events = [e for s in sim.sim.sessions for e in s.events_sent]
    responses = [response_usage(e["response"]["usage"]) for e in events if e["type"] == "response.done"]
    transcribed = [transcription_usage(e["usage"]) for e in events
                   if e["type"] == "conversation.item.input_audio_transcription.completed"]
    return [u for u in responses if u], sum(t.seconds for t in transcribed if t)


def test_the_metering_matches_what_the_simulator_billed_exactly(sim, rig, feeder, start_fleet_daemon, journal,
                                                                 tmp_path):
    prom = tmp_path / "polybot.prom"
    daemon = start_fleet_daemon(journal=journal, metrics={"textfile": str(prom), "interval_s": 1.0})
    daemon.wait_ready()
    for _ in range(3):
        feeder.feed(one_utterance())
    sim.wait_for(lambda: sim.sim.responses_completed >= 3, timeout=60)
    usages, transcribed_s = server_usage(sim)
    assert len(usages) == 3 and usages[2].input_tokens > usages[0].input_tokens
    billed = sum(usages, ResponseUsage())
    expected = {("polybot_tokens_total", (("kind", kind),)): value for kind, value in zip(TOKEN_KINDS, billed.fields(),
                                                                                           strict=True)}

    def metered():
        got = samples(prom.read_text()) if prom.exists() else {}
        return got if all(got.get(key) == value for key, value in expected.items()) else None

    got = eventually(metered, 15, f"the tokens the simulator billed, {expected}")
    prices = PricesConfig()
    cost = sum(response_cost(u, prices) for u in usages) + transcription_cost(
        transcription_usage({"type": "duration", "seconds": transcribed_s}), prices)
    assert abs(got[("polybot_cost_estimated_total", (("currency", "USD"),))] - cost) < 1e-6
    assert got[("polybot_transcription_seconds_total", ())] == transcribed_s > 0
    utterances = eventually(lambda: (u := journal.events("utterance")) and len(u) >= 3 and u, 10, "3 utterances")
    assert [int(e["POLYBOT_TOKENS_IN"]) for e in utterances] == [u.input_tokens for u in usages]
    assert [int(e["POLYBOT_TOKENS_OUT"]) for e in utterances] == [u.output_tokens for u in usages]
    eventually(lambda: json.loads(daemon.state_file.read_text())["cost_today"] == round(cost, 4), 15,
               f"today's estimate {cost:.4f} in the state file")
    assert "today ~" in daemon.health().stdout


def test_the_daily_budget_stops_sending_audio_and_a_reload_raising_it_resumes(sim, rig, feeder, start_fleet_daemon):
    # One response costs more than this limit. The notice is a short earcon here (a spoken one would
    # shut the mic, through the echo gate, for the seconds it takes to say).
    daemon = start_fleet_daemon(cost={"daily_limit": 0.0001}, cues={"spoken": False})
    daemon.wait_ready()
    feeder.feed(one_utterance())
    sim.wait_for(lambda: sim.sim.responses_completed >= 1, timeout=30)
    state = lambda: json.loads(daemon.state_file.read_text())  # noqa: E731
    eventually(lambda: state()["state"] == "budget-spent", 10, "the budget-spent state")
    health = daemon.health()
    assert health.returncode == 1 and "Daily budget reached" in health.stdout, health.stdout
    daemon.notify.wait_for(lambda lines: any("Daily budget reached" in line for line in lines), 10)
    appends = lambda: sum(e["type"] == "input_audio_buffer.append" for e in sim.sim.client_events)  # noqa: E731
    paused_at = appends()
    feeder.feed(one_utterance())  # said while paused: never sent, never billed
    assert feeder.wait_idle(scaled(15)), "the feeder did not deliver the utterance"
    eventually(lambda: state()["audio_age_s"] is not None and state()["audio_age_s"] < 1, 10, "the mic still read")
    assert appends() == paused_at
    assert sim.sim.sessions[0].utterances == 1

    config = yaml.safe_load(daemon.config_path.read_text())
    config["cost"]["daily_limit"] = 100.0
    daemon.config_path.write_text(yaml.safe_dump(config))
    daemon.proc.send_signal(signal.SIGHUP)
    eventually(lambda: state()["state"] == "listening", 10, "listening again after the reload")
    feeder.feed(one_utterance())
    sim.wait_for(lambda: sim.sim.responses_completed >= 2, timeout=30)
    assert sum(s.utterances for s in sim.sim.sessions) == 2  # the paused utterance was never sent
    assert daemon.health().returncode == 0
    assert "daily budget reached" in daemon.log() and "available again" in daemon.log()


def test_a_restart_does_not_hand_out_the_days_budget_again(sim, rig, feeder, start_fleet_daemon, tmp_path):
    first = start_fleet_daemon("first", cost={"daily_limit": 0.0001}, cues={"spoken": False})
    first.wait_ready()
    feeder.feed(one_utterance())
    eventually(lambda: first.state_file.exists() and json.loads(first.state_file.read_text())["budget_spent"], 30,
               "the budget spent")
    code, _ = first.terminate()
    assert code == 0
    ledger = first.runtime_dir / "cost-today.json"
    assert json.loads(ledger.read_text())["today"] > 0.0001
    # The same runtime directory (/run/polybot survives a restart of the unit, not a reboot).
    (tmp_path / "second" / "run").mkdir(parents=True)
    (tmp_path / "second" / "run" / "cost-today.json").write_bytes(ledger.read_bytes())
    second = start_fleet_daemon("second", cost={"daily_limit": 0.0001}, cues={"spoken": False})
    second.wait_ready()
    eventually(lambda: second.state_file.exists() and json.loads(second.state_file.read_text())["state"]
               == "budget-spent", 10, "the budget still spent after the restart")
    assert second.health().returncode == 1
