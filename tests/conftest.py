"""Shared test set-up."""

from collections.abc import Iterator

import pytest
import torch


@pytest.fixture(autouse=True, scope="session")
def single_thread() -> Iterator[None]:
    # The models in tests are tiny: one thread is fastest, and on a busy 2-core machine two threads
    # spinning on a shared core made them 10-100 times slower.
    # OMP_NUM_THREADS=1 makes `run.threads: auto` keep that one thread (`genmbo.runtime.threads`), in
    # this process and in the command-line subprocesses.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OMP_NUM_THREADS", "1")
        yield
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True, scope="session")
def private_cache(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    # Tests never read or write the user's cache (`genmbo.runtime.cache`).
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GENMBO_CACHE_DIR", str(tmp_path_factory.mktemp("genmbo-cache")))
        yield
