"""The pod backends' pure parts: choosing one, exit statuses, names; the image's platform tags."""
from __future__ import annotations

import pytest

from emulator.cli import build_parser
from emulator.containers.image import deps_digest, wheel_platforms
from emulator.supervisor.backends import make_backend
from emulator.supervisor.backends.docker import DockerBackend, exit_status, resource_prefix
from emulator.supervisor.backends.process import ProcessBackend
from emulator.supervisor.config import ConfigFileError, parse_config


def test_the_backend_is_chosen_in_wkp_emu_toml_and_defaults_to_processes():
    assert parse_config("").backend == "process"
    assert parse_config('[emulator]\nbackend = "docker"\n').backend == "docker"


def test_a_bad_backend_names_the_key_the_line_and_the_choices():
    with pytest.raises(ConfigFileError) as err:
        parse_config('[emulator]\ncontrol_port = 0\nbackend = "podman"\n')
    message = str(err.value)
    assert "line 3" in message and "emulator.backend" in message
    assert "'podman' is not one of process, docker" in message
    with pytest.raises(ConfigFileError, match="emulator.backend: must be str"):
        parse_config("[emulator]\nbackend = 1\n")


def test_up_and_exec_take_backend_and_refuse_others(capsys):
    parser = build_parser()
    assert parser.parse_args(["up", "--backend", "docker"]).backend == "docker"
    assert parser.parse_args(["exec", "--backend", "process", "--", "true"]).backend == "process"
    with pytest.raises(SystemExit) as exit:
        parser.parse_args(["up", "--backend", "podman"])
    assert exit.value.code == 2 and "invalid choice: 'podman'" in capsys.readouterr().err


def test_make_backend_builds_the_named_one_without_touching_docker(tmp_path):
    assert isinstance(make_backend("process", tmp_path, keep_volumes=False), ProcessBackend)
    docker = make_backend("docker", tmp_path, keep_volumes=True)
    assert isinstance(docker, DockerBackend) and docker.keep_volumes and docker._client is None
    assert docker.host == "127.0.0.1" and not docker.tracks_pids  # host networking: loopback


def test_a_container_ended_by_a_signal_reports_it_as_a_process_does():
    assert exit_status(137) == -9 and exit_status(143) == -15
    assert [exit_status(c) for c in (0, 2, 3, 128)] == [0, 2, 3, 128]  # the engine's own statuses
    assert exit_status(255) == 255  # 128+127: no such signal, kept as it is


def test_each_state_dir_has_its_own_names(tmp_path):
    a, b = resource_prefix(tmp_path / "a"), resource_prefix(tmp_path / "b")
    assert a != b and a == resource_prefix(tmp_path / "a") and a.startswith("wkp-emu-")
    backend = DockerBackend(tmp_path / "a", keep_volumes=False)
    assert backend.volume("vector-2") == f"{a}-vector-2"


def test_wheels_are_chosen_for_the_image_glibc_and_the_digest_follows_the_pins():
    tags = wheel_platforms()
    assert tags[0].startswith("manylinux_2_36_") and not any(t.startswith("manylinux_2_37") for t in tags)
    assert any(t.startswith("manylinux2014_") for t in tags)
    one = deps_digest(["zstandard>=0.22"], "zstandard==0.25.0\n")
    assert one == deps_digest(["zstandard>=0.22"], "zstandard==0.25.0\n")
    assert one != deps_digest(["zstandard>=0.22"], "zstandard==0.24.0\n")
