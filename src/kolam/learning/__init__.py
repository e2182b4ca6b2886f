"""Learning algorithms for the model in the loop: pure functions over arrays (no I/O, no kolam.store), like
``kolam.quality``; training and prediction run as jobs that call services which call these."""
