"""Demo data and loaders that ship inside the package, so demos run offline."""
