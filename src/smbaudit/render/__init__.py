"""Renderers: a Report in, bytes out. They never import the engine or probes."""
