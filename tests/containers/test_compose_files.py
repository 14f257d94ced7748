"""`wkp-emu compose`: the files it writes, without a docker daemon.

Every file is checked three ways: against the Compose Specification's JSON
schema (vendored, emulator/containers/schemas/README.md), by docker-compose
1.29's own `config` (Debian's, when installed: it needs no daemon), and read
back with a YAML 1.1 reader, which must give exactly the document the
generator meant (no string turned into a boolean or a number).
"""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import jsonschema
import pytest
import yaml

from emulator.cli import main
from emulator.containers import compose_yaml
from emulator.containers.compose import SECRET_VARIABLE, compose_document, render
from emulator.containers.compose_env import decide_secret, env_file_text, read_env_file
from emulator.containers.compose_plan import ComposeError, make_plan, parse_engines
from emulator.protocol.engine_config import parse_engine_config

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "emulator/containers/schemas/compose-spec.json")
                    .read_text())
IMAGE = "wkp-emu/engine:0.1.0"
ENGINES = "relational=1,vector=2"
CASES = [("serverless", None), ("serverless", "https://fn.example.com/wkp"),
         ("container", None), ("container", "http://127.0.0.1:9000"), ("disabled", None)]


def _plan(mode, endpoint=None, engines=ENGINES, **kw):
    return make_plan(mode=mode, engines=engines, endpoint=endpoint, image=IMAGE, **kw)


def _validate(document: dict) -> None:
    errors = sorted(jsonschema.Draft202012Validator(SCHEMA).iter_errors(document), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


# ------------------------------------------------------------------ the plan


def test_engines_option_reads_kinds_and_counts():
    assert parse_engines("relational=1,vector=2") == (("relational", 1), ("vector", 2))
    assert parse_engines("graph, keyvalue=3") == (("graph", 1), ("keyvalue", 3))
    assert parse_engines("vector=0,markdown=1") == (("markdown", 1),)


@pytest.mark.parametrize("text, says", [
    ("sql=1", "'sql' is not an engine kind"), ("vector=2,vector=1", "vector is given twice"),
    ("vector=two", "the count must be a whole number"), ("vector=0", "no engine"),
    ("", "no engine"), ("relational=101", "at most 100")])
def test_a_bad_engines_option_is_named(text, says):
    with pytest.raises(ComposeError) as err:
        parse_engines(text)
    assert err.value.option == "--engines" and says in str(err.value)


def test_ports_do_not_collide_and_follow_the_documented_plan():
    plan = _plan("container", engines="relational=2,vector=3,filestore=1", port_base=20000)
    ports = [plan.store_port, plan.function_port]
    for slot in plan.slots:
        ports += [slot.port, slot.sidecar_port]
    assert len(ports) == len(set(ports))
    assert [s.port for s in plan.slots] == [20010, 20012, 20014, 20016, 20018, 20020]
    assert [s.sidecar_port for s in plan.slots] == [20011, 20013, 20015, 20017, 20019, 20021]
    assert [s.name for s in plan.slots] == ["relational-1", "relational-2", "vector-1", "vector-2",
                                           "vector-3", "filestore-1"]


@pytest.mark.parametrize("kw, option", [
    (dict(mode="cloud"), "--mode"), (dict(port_base=80), "--port-base"),
    (dict(port_base=65500), "--port-base"), (dict(endpoint="ftp://x"), "--endpoint"),
    (dict(endpoint="https://x/p?q=1"), "--endpoint"), (dict(mode="disabled", endpoint="https://x"), "--endpoint"),
    (dict(bucket="Bad_Bucket"), "--bucket"), (dict(env_file="../secret.env"), "--env-file"),
    (dict(store_dir="/abs"), "--store-dir"), (dict(image="has space"), "--image")])
def test_bad_options_are_named(kw, option):
    args = dict(mode="serverless", engines=ENGINES, image=IMAGE) | kw
    with pytest.raises(ComposeError) as err:
        make_plan(**args)
    assert err.value.option == option


# ------------------------------------------------------------------ the documents


@pytest.mark.parametrize("mode, endpoint", CASES)
def test_every_file_follows_the_compose_specification(mode, endpoint):
    plan = _plan(mode, endpoint)
    text = render(plan)
    document = yaml.safe_load(text)
    assert document == compose_document(plan)  # nothing re-typed by a YAML 1.1 reader
    _validate(document)
    assert "version" not in document and "name" not in document


@pytest.mark.parametrize("mode, endpoint", CASES)
def test_services_per_mode(mode, endpoint):
    services = compose_document(_plan(mode, endpoint))["services"]
    engines = ["relational-1", "vector-1", "vector-2"]
    expected = {
        ("serverless", None): ["store", "function", *engines],
        ("serverless", "https://fn.example.com/wkp"): engines,
        ("container", None): ["store", "relational-1-persistence", "relational-1", "vector-1-persistence",
                              "vector-1", "vector-2-persistence", "vector-2"],
        ("container", "http://127.0.0.1:9000"): ["relational-1-persistence", "relational-1",
                                                 "vector-1-persistence", "vector-1",
                                                 "vector-2-persistence", "vector-2"],
        ("disabled", None): engines}[(mode, endpoint)]
    assert list(services) == expected
    assert all(s["network_mode"] == "host" for s in services.values())
    assert all("ports" not in s for s in services.values())  # host networking publishes nothing
    assert all(s["restart"] == "on-failure" for s in services.values())  # as a platform restarts a failed task


@pytest.mark.parametrize("mode, endpoint", CASES)
def test_engines_get_a_configuration_the_engine_accepts(mode, endpoint):
    plan = _plan(mode, endpoint)
    services = compose_document(plan)["services"]
    for slot in plan.slots:
        service = services[slot.name]
        env = dict(service["environment"])
        assert SECRET_VARIABLE not in env  # never inline
        if mode == "disabled":
            assert env == {"WEFTKIT_PERSIST_MODE": "disabled"} and "env_file" not in service
            assert parse_engine_config(env).mode == "disabled"
            continue
        assert service["env_file"] == ["wkp-emu.env"]
        config = parse_engine_config(env | {SECRET_VARIABLE: "s"})
        assert config.mode == mode and config.instance_id == slot.name
        assert service["volumes"] == [f"{slot.name}-data:/data"]
        assert ["--port", str(slot.port)] == service["command"][-2:]
        if mode == "serverless":
            assert config.endpoint == (endpoint or f"http://127.0.0.1:{plan.function_port}")
        else:
            assert config.endpoint == f"http://127.0.0.1:{slot.sidecar_port}"
            sidecar = services[slot.sidecar_name]
            assert f"--port {slot.sidecar_port}" in sidecar["command"][0]
            assert f"--s3-endpoint {endpoint or f'http://127.0.0.1:{plan.store_port}'}" in sidecar["command"][0]


def test_secrets_come_from_the_env_file_through_the_shell():
    services = compose_document(_plan("serverless"))["services"]
    function = services["function"]
    assert function["entrypoint"] == ["sh", "-c"] and function["env_file"] == ["wkp-emu.env"]
    assert function["command"][0].endswith('--secret "$$WEFTKIT_PERSIST_SECRET"')  # $$: a literal $


def test_start_order_waits_for_health_and_stops_leave_time_for_the_final_flush():
    services = compose_document(_plan("serverless"))["services"]
    assert services["function"]["depends_on"] == {"store": {"condition": "service_healthy"}}
    assert services["vector-2"]["depends_on"] == {"function": {"condition": "service_healthy"}}
    assert services["vector-2"]["stop_grace_period"] == "45s"  # > the 30 s shutdown budget
    assert services["store"]["volumes"] == ["./wkp-emu-store:/store"]  # a bind mount: down -v keeps it
    container = compose_document(_plan("container"))["services"]
    assert container["vector-1"]["depends_on"] == {"vector-1-persistence": {"condition": "service_healthy"}}


def _seconds(text: str) -> int:
    assert text.endswith("s"), text
    return int(text[:-1])


@pytest.mark.parametrize("mode", ["serverless", "container"])
def test_healthchecks_wait_for_a_slow_start_and_fail_a_service_that_never_serves_in_bounded_time(mode):
    # A Python start on a loaded 2-core machine takes seconds to tens of seconds, and docker's exec
    # of each check seconds more: a check's timeout or a start period too short for that fails `up`.
    for name, service in compose_document(_plan(mode))["services"].items():
        check = service["healthcheck"]
        assert _seconds(check["timeout"]) >= 10, name
        assert _seconds(check["start_period"]) >= 120, name
        worst = _seconds(check["start_period"]) + check["retries"] * _seconds(check["interval"])
        assert worst <= 600, f"{name}: a service that never serves fails up only after {worst}s"
        assert _seconds(check["interval"]) <= 5, name  # a quick start is seen quickly


def test_an_endpoint_the_engine_would_refuse_is_refused_naming_the_option(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compose", "--endpoint", "http://fn.example.com"]) == 2
    err = capsys.readouterr().err
    assert "--endpoint" in err and "plain http is allowed only on loopback" in err
    assert main(["compose", "--schedule", "every minute"]) == 2
    assert "--schedule" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())  # nothing written


# ------------------------------------------------------------------ YAML


@pytest.mark.parametrize("value, text", [
    ("relational", "relational"), ("true", '"true"'), ("on", '"on"'), ("No", '"No"'), ("18710", '"18710"'),
    ("127.0.0.1", '"127.0.0.1"'), ("1s", "1s"), ("45s", "45s"), ("1e3", '"1e3"'), ("1_000", '"1_000"'), ("*/15 * * * *", '"*/15 * * * *"'), ("--kind", "--kind"),
    ("a: b", '"a: b"'), ("x #y", '"x #y"'), ("http://127.0.0.1:8787", "http://127.0.0.1:8787"),
    ("", '""'), ("null", '"null"'), ("-", '"-"'), (5, "5"), (True, "true")])
def test_scalars_are_quoted_exactly_when_a_reader_could_misread_them(value, text):
    assert compose_yaml.scalar(value) == text
    assert yaml.safe_load(f"k: {text}")["k"] == value


# ------------------------------------------------------------------ docker-compose 1.29


def _docker_compose() -> str:
    path = shutil.which("docker-compose")
    if not path:
        pytest.skip("docker-compose is not installed (apt-get install docker-compose; "
                    "scripts/docker-setup.sh does)")
    return path


@pytest.mark.parametrize("mode, endpoint", CASES)
def test_docker_compose_1_29_accepts_every_file(tmp_path, mode, endpoint):
    tool = _docker_compose()
    (tmp_path / "docker-compose.yml").write_text(render(_plan(mode, endpoint)))
    (tmp_path / "wkp-emu.env").write_text(env_file_text("s3cr3t"))
    out = subprocess.run([tool, "config"], cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env={k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")})
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip() == "", out.stderr  # no warning either
    resolved = yaml.safe_load(out.stdout)
    assert set(resolved["services"]) == set(compose_document(_plan(mode, endpoint))["services"])


# ------------------------------------------------------------------ the command and its env file


def test_the_command_writes_the_file_and_a_private_env_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    assert main(["compose", "--engines", ENGINES]) == 0
    out = capsys.readouterr().out
    assert "wrote docker-compose.yml (serverless: engines relational=1,vector=2; with function, store)" in out
    assert (tmp_path / "docker-compose.yml").read_text() == render(_plan("serverless"))
    env = tmp_path / "wkp-emu.env"
    assert stat.S_IMODE(env.stat().st_mode) == 0o600
    secret = read_env_file(env.read_text())[SECRET_VARIABLE]
    assert len(secret) >= 40 and secret not in (tmp_path / "docker-compose.yml").read_text()
    # again, with other engines: the file differs, so --force; the secret is kept
    assert main(["compose", "--engines", "graph=1"]) == 2
    assert "exists and differs; --force overwrites it" in capsys.readouterr().err
    assert main(["compose", "--engines", "graph=1", "--force"]) == 0
    assert "kept wkp-emu.env" in capsys.readouterr().out
    assert read_env_file(env.read_text())[SECRET_VARIABLE] == secret


def test_disabled_mode_writes_no_env_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compose", "--mode", "disabled", "-o", "sub/dev.yml"]) == 0
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["dev.yml"]
    assert "docker compose -f sub/dev.yml up -d" in capsys.readouterr().out


def test_your_own_function_needs_your_secret(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    args = ["compose", "--endpoint", "https://fn.example.com"]
    assert main(args) == 2
    assert f"set {SECRET_VARIABLE} to your function's secret" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())
    monkeypatch.setenv(SECRET_VARIABLE, "my $ecret")
    assert main(args) == 0
    assert read_env_file((tmp_path / "wkp-emu.env").read_text())[SECRET_VARIABLE] == "my $ecret"
    assert "WEFTKIT_PERSIST_SECRET='my $ecret'" in (tmp_path / "wkp-emu.env").read_text()


def test_stdout_output_keeps_the_messages_on_stderr(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compose", "--mode", "disabled", "-o", "-"]) == 0
    out = capsys.readouterr()
    assert out.out == render(_plan("disabled", engines="relational=1"))
    assert "next:" in out.err
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    assert main(["compose", "-o", "-"]) == 0
    assert "wrote" in capsys.readouterr().err and (tmp_path / "wkp-emu.env").is_file()  # here, for stdout


@pytest.mark.parametrize("existing, ours, from_env, action", [
    ("WEFTKIT_PERSIST_SECRET=abc\n", False, None, "keep"),
    ("# nothing\n", True, None, "refuse"),
    (None, True, None, "write"),
    (None, True, "mine", "write"),
    (None, False, "mine", "write"),
    (None, False, None, "refuse"),
    (None, False, "it's", "refuse")])
def test_the_env_file_table(existing, ours, from_env, action):
    decision = decide_secret(existing=existing, ours=ours, from_environment=from_env,
                             new_secret="generated", env_file="wkp-emu.env")
    assert decision.action == action
    if action == "write":
        assert decision.secret == (from_env or "generated")


# ------------------------------------------------------------------ docs/docker.md


def _compose_section() -> str:
    text = (Path(__file__).resolve().parents[2] / "docs/docker.md").read_text()
    start = text.index("## The compose builder")
    end = text.find("\n## ", start + 1)
    return text[start:end if end != -1 else len(text)]


def test_the_docs_examples_are_the_generators_output(tmp_path, monkeypatch, capsys):
    import re
    import shlex
    examples = re.findall(r"```console\n\$ (wkp-emu compose [^\n]*)\n```\s*```yaml\n(.*?)```",
                          _compose_section(), re.S)
    assert sorted(shlex.split(cmd)[3] for cmd, _ in examples) == ["container", "disabled", "serverless"]
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(SECRET_VARIABLE, raising=False)
    for command, documented in examples:
        assert main(shlex.split(command)[1:]) == 0
        assert capsys.readouterr().out == documented, f"docs/docker.md example differs: {command}"


def test_the_docs_name_every_option():
    import argparse
    parser = argparse.ArgumentParser()
    from emulator.containers.compose_command import add_parser
    add_parser(parser.add_subparsers())
    compose = parser._subparsers._group_actions[0].choices["compose"]
    section = _compose_section()
    missing = sorted(a.option_strings[-1] for a in compose._actions if a.option_strings and a.dest != "help"
                     and not any(f"`{o}" in section for o in a.option_strings))
    assert not missing, f"options not in docs/docker.md: {missing}"
