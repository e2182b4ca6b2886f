"""Quality algorithms: pure functions over arrays (NumPy/SciPy), no I/O and no kolam.store (see DESIGN.md)."""
