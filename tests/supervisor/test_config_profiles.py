"""wkp-emu.toml: [function] profile and instance keys, [platform] profile; --profile. Pure parsing."""
import pytest

from emulator.platforms.profiles import MiB
from emulator.supervisor.config import (ConfigFileError, EmulatorConfig, function_settings, parse_config,
                                        with_profiles)


def test_function_instance_keys_and_profile():
    cfg = parse_config('[function]\nprofile = "lambda-url"\ninstances_max = 4\nkeep_alive_s = 2.5\n'
                       'cold_start_ms = 0\ntimeout_s = 30\n')
    assert (cfg.function_profile, cfg.instances_max, cfg.keep_alive_s, cfg.cold_start_ms,
            cfg.function_timeout_s) == ("lambda-url", 4, 2.5, 0, 30.0)
    limits, instances, platform = function_settings(cfg)
    assert limits.max_payload == 6 * MiB
    assert (instances.instances_max, instances.instance_concurrency, instances.keep_alive_s,
            instances.cold_start_ms) == (4, 1, 2.5, 0)
    assert platform.timeout_s == 30 and platform.stream_rate_bytes_s == 2 * MiB


def test_no_keys_is_today_s_function():
    limits, instances, platform = function_settings(EmulatorConfig())
    assert limits.max_payload == 100 * MiB and limits.max_inflight == 256
    assert (instances.instances_max, instances.instance_concurrency, instances.keep_alive_s) == (4, None, None)
    assert platform.profile is None and platform.timeout_s is None


@pytest.mark.parametrize("text, message", [
    ('[function]\nprofile = "lambda"\n', "line 2.*function.profile.*not one of lambda-url, gcf, azure, container"),
    ('[function]\ninstances_max = 0\n', "line 2.*function.instances_max: must be at least 1"),
    ('[function]\nkeep_alive_s = 0\n', "line 2.*function.keep_alive_s: must be a positive number"),
    ('[function]\ncold_start_ms = -5\n', "line 2.*function.cold_start_ms: must be 0 or more"),
    ('[function]\ntimeout_s = "fast"\n', "line 2.*function.timeout_s: must be float"),
    ('[platform]\nprofile = "ecs"\n', "line 2.*platform.profile.*not one of fargate, cloud-run, aci, kubernetes"),
])
def test_bad_values_name_the_key_and_line(text, message):
    with pytest.raises(ConfigFileError, match=message):
        parse_config(text)


def test_platform_profile_sets_stop_grace_volume_instance_id_and_replacement_delay():
    p = parse_config('[platform]\nprofile = "cloud-run"\n').platform
    assert (p.profile, p.stop_grace_s, p.recycle_volume, p.instance_id) == ("cloud-run", 10.0, "empty", "new")
    assert p.replace_delay_s == 4.0
    k = parse_config('[platform]\nprofile = "kubernetes"\nstop_grace_s = 5\n').platform
    assert (k.recycle_volume, k.instance_id, k.stop_grace_s) == ("keep", "stable", 5.0)  # explicit wins


def test_up_profile_flag_names_either_family():
    cfg = with_profiles(EmulatorConfig(), ["lambda-url", "fargate"])
    assert cfg.function_profile == "lambda-url"
    assert (cfg.platform.profile, cfg.platform.stop_grace_s, cfg.platform.instance_id) == ("fargate", 30.0, "new")
    with pytest.raises(ConfigFileError, match="--profile lambda: unknown; function profiles are lambda-url"):
        with_profiles(EmulatorConfig(), ["lambda"])
