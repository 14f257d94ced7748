"""Platform profiles: pure data with sources, lookups, and the arithmetic shown before deploying."""
import pytest

from emulator.platforms.profiles import (ENGINE_PROFILES, FUNCTION_PROFILES, MiB, Delay,
                                         UnknownProfile, engine_profile, fit_report,
                                         function_profile, push_parts, response_fits,
                                         stream_seconds)


def test_the_four_engine_and_four_function_profiles_exist():
    assert list(ENGINE_PROFILES) == ["fargate", "cloud-run", "aci", "kubernetes"]
    assert list(FUNCTION_PROFILES) == ["lambda-url", "gcf", "azure", "container"]


def test_the_issue_s_numbers():
    lam = function_profile("lambda-url")
    assert (lam.max_request_bytes, lam.max_buffered_response_bytes) == (6291456, 6291456)
    assert lam.max_streamed_response_bytes == 200 * MiB and lam.stream_unthrottled_bytes == 6 * MiB
    assert lam.stream_rate_bytes_s == 2 * MiB and lam.timeout_s == 900
    assert lam.instance_concurrency == 1
    assert function_profile("azure").timeout_s == 230
    assert engine_profile("fargate").stop_grace_s == 30 and engine_profile("cloud-run").stop_grace_s == 10
    assert engine_profile("kubernetes").volume == "kept" and engine_profile("kubernetes").instance_id == "stable"
    assert engine_profile("fargate").spot_warning_s == 120


@pytest.mark.parametrize("profile", [*ENGINE_PROFILES.values(), *FUNCTION_PROFILES.values()],
                         ids=lambda p: p.name)
def test_every_platform_number_names_its_source(profile):
    numbers = {"stop_grace_s", "volume", "instance_id", "spot_warning_s", "start_delay"} \
        if profile in ENGINE_PROFILES.values() else {"max_request_bytes", "instances_max"}
    assert numbers <= set(profile.sources), f"{profile.name} lacks sources for {numbers - set(profile.sources)}"
    for key, text in profile.sources.items():
        assert text.startswith(("http", "observed", "no ", "none", "one ", "the ", "a ", "Cloud", "depends")), (key, text)


def test_unknown_profile_names_the_known_ones():
    with pytest.raises(UnknownProfile, match="profiles are lambda-url, gcf, azure, container"):
        function_profile("lambda")
    with pytest.raises(UnknownProfile, match="fargate, cloud-run, aci, kubernetes"):
        engine_profile("ecs")


def test_delay_quantiles():
    d = Delay(median_s=2.0, p90_s=6.0)
    assert d.sample(0.0) == pytest.approx(2.0)
    assert d.quantile(1.2815515655446004) == pytest.approx(6.0)
    assert Delay(0.0, 0.0).sample(3.0) == 0.0
    with pytest.raises(ValueError):
        Delay(5.0, 1.0)


def test_a_100_mib_push_is_split_under_lambda_s_6_mib_but_not_on_a_container():
    assert push_parts(function_profile("lambda-url"), 100 * MiB) == 17
    assert push_parts(function_profile("gcf"), 100 * MiB) == 4
    assert push_parts(function_profile("azure"), 100 * MiB) == 1
    assert push_parts(function_profile("container"), 100 * MiB) == 1


def test_restore_time_at_the_streamed_rate():
    lam = function_profile("lambda-url")
    assert stream_seconds(lam, 6 * MiB) == 0.0
    assert stream_seconds(lam, 26 * MiB) == pytest.approx(10.0)
    assert stream_seconds(lam, 1024 * MiB) == pytest.approx(509.0)
    assert response_fits(lam, 200 * MiB) and not response_fits(lam, 201 * MiB)
    assert stream_seconds(function_profile("container"), 1024 * MiB) == 0.0
    assert response_fits(function_profile("container"), 1 << 40)


def test_fit_report_says_what_a_user_meets_before_deploying():
    text = "\n".join(fit_report(function_profile("lambda-url")))
    assert "100 MiB push: must be split into 17 parts of at most 6 MiB" in text
    assert ("1 GiB restore: cut at the platform's 200 MiB response maximum (after 97 s); streamed at "
            "2 MiB/s after the first 6 MiB, the whole of it would take 509 s; keep a restore chain "
            "under 200 MiB") in text
    small = "\n".join(fit_report(function_profile("lambda-url"), restore_bytes=100 * MiB))
    assert "100 MiB restore: streamed at 2 MiB/s after the first 6 MiB: 47 s at least" in small
    azure = "\n".join(fit_report(function_profile("azure")))
    assert "1 GiB restore: one response, not rate-capped" in azure and "cut at 230 s" in azure
    assert "must move at least 4.5 MiB/s end to end" in azure
    assert "cut at 900 s" in text
    assert "no platform request limit" in "\n".join(fit_report(function_profile("container")))


def test_profiles_are_immutable():
    with pytest.raises(Exception):
        function_profile("lambda-url").timeout_s = 1
    with pytest.raises(TypeError):
        FUNCTION_PROFILES["x"] = None
