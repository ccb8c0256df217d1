"""The deployment files agree with the code: every systemd unit in
deploy/systemd runs a command line that the real `appeals` parser accepts, and the Postfix
configuration in docs/deploy.md sends every intake address of the shipped settings.toml
(read with the project's settings loader) and the reply domain to the gateway's listener."""

from __future__ import annotations

import argparse
import tomllib
from pathlib import Path

import pytest
from deploydoc import (
    MAIN_CF,
    RELAY_RECIPIENTS,
    REPO,
    TRANSPORT,
    UNIT_DIR,
    doc_blocks,
    exec_argv,
    merge_fragment,
    parse_appeals_command,
    parse_main_cf,
    parse_table,
    parse_unit,
    settings_fragments,
    split_list,
    unit_values,
)

from gateway.cli import build_parser
from gateway.settings import Settings, load_settings, settings_from_dict

SERVICES = sorted(UNIT_DIR.glob("*.service"))
TIMERS = sorted(UNIT_DIR.glob("*.timer"))
# The subcommand each shipped service exists to run (the parser decides whether it exists).
PURPOSE = {
    "appeal-gateway.service": "run",
    "appeals-worker@.service": "work",
    "appeals-tick.service": "tick",
}


@pytest.fixture(scope="module")
def parser() -> argparse.ArgumentParser:
    return build_parser()


@pytest.fixture(scope="module")
def shipped() -> Settings:
    return load_settings(REPO / "settings.toml", env={})


def appeals_commands(path: Path) -> list[tuple[str, list[str]]]:
    """(Exec key, arguments after `appeals`) of every Exec line that runs `appeals`."""
    unit = parse_unit(path.read_text(encoding="utf-8"))
    out = []
    for key, value in unit.get("Service", []):
        if key.startswith("Exec"):
            argv = exec_argv(value)
            if argv and Path(argv[0]).name == "appeals":
                out.append((key, argv[1:]))
    return out


# -- systemd units ----------------------------------------------------------------------
def test_the_units_are_there() -> None:
    assert {p.name for p in SERVICES} == set(PURPOSE)
    assert [p.name for p in TIMERS] == ["appeals-tick.timer"]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_service_runs_an_existing_appeals_command(
    path: Path, parser: argparse.ArgumentParser
) -> None:
    unit = parse_unit(path.read_text(encoding="utf-8"))
    starts = unit_values(unit, "Service", "ExecStart")
    assert len(starts) == 1, f"{path.name}: exactly one ExecStart"
    argv = exec_argv(starts[0])
    assert Path(argv[0]).name == "appeals", f"{path.name}: ExecStart does not run appeals"
    assert Path(argv[0]).is_absolute(), "systemd needs an absolute path"
    for key, args in appeals_commands(path):
        ns = parse_appeals_command(parser, args)  # ValueError names the refused line
        assert ns.settings, f"{path.name} {key}: no --settings"
    ns = parse_appeals_command(parser, argv[1:])
    assert ns.command == PURPOSE[path.name]


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_service_runs_as_the_gateway_user_with_its_secrets(path: Path) -> None:
    unit = parse_unit(path.read_text(encoding="utf-8"))
    assert unit_values(unit, "Service", "User") == ["appeals"]
    assert unit_values(unit, "Service", "EnvironmentFile") == ["/etc/appeal-gateway/env"]
    settings_files = {
        parse_appeals_command(build_parser(), args).settings for _, args in appeals_commands(path)
    }
    assert settings_files == {"/etc/appeal-gateway/settings.toml"}


def test_the_main_unit_upgrades_the_schema_before_it_runs(
    parser: argparse.ArgumentParser,
) -> None:
    unit = parse_unit((UNIT_DIR / "appeal-gateway.service").read_text(encoding="utf-8"))
    pre = [
        parse_appeals_command(parser, exec_argv(v)[1:])
        for v in unit_values(unit, "Service", "ExecStartPre")
    ]
    assert [(ns.command, ns.db_command) for ns in pre] == [("db", "upgrade")]


def test_workers_follow_the_main_unit() -> None:
    unit = parse_unit((UNIT_DIR / "appeals-worker@.service").read_text(encoding="utf-8"))
    assert "appeal-gateway.service" in " ".join(unit_values(unit, "Unit", "After"))
    assert unit_values(unit, "Unit", "PartOf") == ["appeal-gateway.service"]


@pytest.mark.parametrize("path", TIMERS, ids=lambda p: p.name)
def test_timer_starts_a_shipped_service(path: Path) -> None:
    unit = parse_unit(path.read_text(encoding="utf-8"))
    timer = dict(unit["Timer"])
    assert "OnCalendar" in timer or "OnUnitActiveSec" in timer
    target = timer.get("Unit", path.with_suffix(".service").name)
    assert (UNIT_DIR / target).exists()
    service = parse_unit((UNIT_DIR / target).read_text(encoding="utf-8"))
    assert unit_values(service, "Service", "Type") == ["oneshot"]
    assert unit_values(unit, "Install", "WantedBy") == ["timers.target"]


@pytest.mark.parametrize(
    "args",
    [
        ["serve"],  # no such command
        ["--settings", "/etc/appeal-gateway/settings.toml", "worker"],
        ["run", "--bogus-option"],
        ["db"],  # a group without its subcommand
        ["--settings"],
    ],
)
def test_the_command_check_refuses_what_would_not_run(
    args: list[str], parser: argparse.ArgumentParser
) -> None:
    """The unit check above can fail: the real parser refuses these command lines."""
    with pytest.raises(ValueError, match="refused"):
        parse_appeals_command(parser, args)


# -- Postfix configuration in docs/deploy.md ------------------------------------------------
def the_block(info: str) -> str:
    blocks = doc_blocks(info)
    assert len(blocks) == 1, f"docs/deploy.md: expected one ```{info} block, found {len(blocks)}"
    return blocks[0]


def gateway_nexthop(s: Settings) -> str:
    return f"smtp:[{s.smtp_server.host}]:{s.smtp_server.port}"


def transport_problems(table: dict[str, str], s: Settings) -> list[str]:
    """What is wrong with a transport table for settings `s` (empty: nothing)."""
    hop = gateway_nexthop(s)
    wanted = s.accepted_recipients() | {s.outbound.reply_domain.lower()}
    problems = [
        f"{key} -> {table.get(key)}, not {hop}" for key in sorted(wanted) if table.get(key) != hop
    ]
    # Nothing else goes to the gateway: it answers 550 for any other recipient.
    problems += [
        f"{key} goes to the gateway" for key, v in table.items() if v == hop and key not in wanted
    ]
    return problems


def test_the_loader_counts_every_department_intake_address(shipped: Settings) -> None:
    departments = {a.lower() for d in shipped.departments for a in d.intake_addresses}
    assert departments <= shipped.accepted_recipients()
    assert shipped.routing.general_addresses and departments


def test_transport_sends_every_intake_address_and_the_reply_domain_to_the_gateway(
    shipped: Settings,
) -> None:
    assert transport_problems(parse_table(the_block(TRANSPORT)), shipped) == []


def test_the_transport_check_fails_on_a_missing_or_misrouted_address(shipped: Settings) -> None:
    table = parse_table(the_block(TRANSPORT))
    victim = sorted(shipped.accepted_recipients())[0]
    missing = {k: v for k, v in table.items() if k != victim}
    assert transport_problems(missing, shipped) == [
        f"{victim} -> None, not {gateway_nexthop(shipped)}"
    ]
    wrong_port = {**table, victim: "smtp:[127.0.0.1]:2526"}
    assert len(transport_problems(wrong_port, shipped)) == 1
    stray = {**table, "varta@council.example": gateway_nexthop(shipped)}
    assert transport_problems(stray, shipped) == ["varta@council.example goes to the gateway"]


def test_department_mailboxes_do_not_go_to_the_gateway(shipped: Settings) -> None:
    """Delivery addresses are never routed to the gateway, once the doc's settings
    changes are applied (otherwise a forward comes straight back and is discarded)."""
    settings = documented_settings()
    table = parse_table(the_block(TRANSPORT))
    to_gateway = {k for k, v in table.items() if v == gateway_nexthop(shipped)}
    delivery = {settings.instance.admin_email.lower()}
    for d in settings.departments:
        delivery.add(d.email.lower())
        if d.head_email:
            delivery.add(d.head_email.lower())
    assert delivery & to_gateway == set()
    assert delivery & settings.accepted_recipients() == set()


def test_main_cf_relays_the_gateway_domains_through_the_transport_table(
    shipped: Settings,
) -> None:
    params = parse_main_cf(the_block(MAIN_CF))
    domains = {a.split("@", 1)[1] for a in shipped.accepted_recipients()}
    domains.add(shipped.outbound.reply_domain.lower())
    relay = {d.lower() for d in split_list(params.get("relay_domains", ""))}
    assert domains <= relay
    local = {d.lower() for d in split_list(params.get("mydestination", ""))}
    assert local & domains == set(), "a relay domain must not also be delivered locally"
    assert "/etc/postfix/transport" in params.get("transport_maps", "")
    assert params.get("recipient_delimiter") == shipped.outbound.plus_delimiter
    assert int(params["message_size_limit"]) < shipped.smtp_server.max_message_size
    assert "127.0.0.0/8" in split_list(params.get("mynetworks", ""))


def test_relay_recipients_accept_every_intake_address(shipped: Settings) -> None:
    params = parse_main_cf(the_block(MAIN_CF))
    assert "/etc/postfix/relay_recipients" in params.get("relay_recipient_maps", "")
    table = parse_table(the_block(RELAY_RECIPIENTS))
    wanted = shipped.accepted_recipients() | {f"@{shipped.outbound.reply_domain.lower()}"}
    assert wanted - set(table) == set()


# -- settings examples in docs/deploy.md ----------------------------------------------------
def documented_settings() -> Settings:
    with (REPO / "settings.toml").open("rb") as fh:
        data = tomllib.load(fh)
    for fragment in settings_fragments():
        merge_fragment(data, fragment)
    return settings_from_dict(data, base_dir=REPO, env={}, origin="docs/deploy.md")


def test_every_settings_example_in_the_doc_is_valid() -> None:
    """Unknown keys or bad values in the doc's ```toml blocks fail here (key-named)."""
    assert settings_fragments(), "docs/deploy.md shows no settings"
    s = documented_settings()
    assert s.outbound.relay_host == "127.0.0.1"
    assert s.smtp_server.host == "127.0.0.1", "the listener has no TLS: loopback only"


def test_the_doc_relays_outbound_mail_through_its_own_postfix() -> None:
    s = documented_settings()
    params = parse_main_cf(the_block(MAIN_CF))
    assert s.outbound.relay_port == 25
    assert any(net.startswith("127.") for net in split_list(params["mynetworks"]))
