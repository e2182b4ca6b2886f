"""Learning algorithms for the model in the loop: pure functions over arrays (no I/O, no kolam.store), like
``kolam.quality``; training and prediction run as jobs that call services which call these."""

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Run NumPy/SciPy linear algebra on one thread: the head's small matrices gain nothing from more, and
    beside a web server, job threads and other processes, BLAS threads fighting for two cores made a 100-item
    fit 50× slower (1.46 s against 0.03 s, measured here). Needs threadpoolctl (the ml extra brings it)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - without the ml extra there is no head to fit
        yield
        return
    with threadpool_limits(limits=1):
        yield
