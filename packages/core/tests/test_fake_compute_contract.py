from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from mlsmith.core.errors import ConfigError
from mlsmith.core.ports.compute import TaskState
from mlsmith.core.settings import Settings
from mlsmith.core.testing.contracts.compute import TASKS, ComputeContract
from mlsmith.core.testing.fakes.compute import FakeCompute


def _backends(tmp_path: Path):
    # The contract's tasks never touch a port; only their settings are read back below.
    return SimpleNamespace(settings=Settings(data_dir=tmp_path / "data"))


class TestFakeCompute(ComputeContract):
    __test__ = True

    @pytest.fixture
    def compute(self, tmp_path: Path) -> Iterator[FakeCompute]:
        compute = FakeCompute(workers=2)
        compute.bind(_backends(tmp_path))
        yield compute
        compute.close()


def test_fake_compute_passes_its_bound_backends_to_tasks(tmp_path: Path) -> None:
    compute = FakeCompute(workers=1)
    compute.bind(_backends(tmp_path))
    out = tmp_path / "data_dir.txt"

    compute.submit("t", f"{TASKS}:write_data_dir", {"path": str(out)})

    assert compute.wait("t", 10).state is TaskState.DONE
    assert out.read_text(encoding="utf-8") == str(tmp_path / "data")
    compute.close()


def test_unbound_fake_compute_refuses_work(tmp_path: Path) -> None:
    compute = FakeCompute()

    with pytest.raises(ConfigError):
        compute.submit("t", f"{TASKS}:write_file", {"path": str(tmp_path / "x"), "text": ""})
