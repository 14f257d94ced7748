"""What the docker tests share: a client of the local daemon, or a skip that says why not."""
import pytest


@pytest.fixture(scope="module")
def client():
    from emulator.containers.image import ImageError, docker_client
    try:
        return docker_client()
    except ImageError as exc:
        pytest.skip(f"docker cannot run here: {exc}")
