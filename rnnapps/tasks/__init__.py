"""Task modules: each reads data, builds a model, trains it with the shared
loop, exports it and serves the export. ``rnnapps.cli`` lists them."""
